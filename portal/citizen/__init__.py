"""The citizen and business pages (issue 7): a recipient's own NemKonto, specific accounts,
activation with code and who looked them up or changed their accounts."""
