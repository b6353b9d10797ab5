"""The caseworker pages of the portal: look up a recipient with a stated purpose, change their
NemKonto at their request (with the activation letter) and maintain the authority's specific
accounts. Each page is open only to the functions the user's role profiles give (404 otherwise),
and every write is the same service call the REST API makes."""
