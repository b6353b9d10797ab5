#!/usr/bin/env bash
# Copy the Danish public design system (dkfds, from npm) into nemkonto/static/dkfds/.
#
# - Installs node_modules with `npm ci` when it is missing or older than package-lock.json.
# - Copies the parts of node_modules/dkfds/dist that pages use, keeping the dist folder
#   layout (css/, js/, img/, fonts/) so the CSS's relative url(../fonts/..) and url(../img/..)
#   references resolve, then checks that every one of them does.
# - Idempotent and quick: a stamp records what was copied; when nothing changed it does nothing.
#
# Usage: scripts/build_assets.sh        (from anywhere; works on the repository it lives in)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SRC="node_modules/dkfds/dist"
DEST="nemkonto/static/dkfds"
STAMP="$DEST/.build-stamp"
# npm writes this "hidden lockfile" on every install; its age tells whether node_modules is current.
NPM_MARKER="node_modules/.package-lock.json"

if [[ ! -f "$NPM_MARKER" || ! -d node_modules/dkfds || package-lock.json -nt "$NPM_MARKER" ]]; then
    echo "build_assets: installing npm packages (npm ci)"
    npm ci --no-audit --no-fund
    touch "$NPM_MARKER"
fi

version="$(node -p 'require("./node_modules/dkfds/package.json").version')"
wanted="dkfds $version; lock $(sha256sum package-lock.json | cut -d' ' -f1); script $(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
if [[ -f "$STAMP" && -f "$DEST/css/dkfds.min.css" && "$(cat "$STAMP")" == "$wanted" ]]; then
    echo "build_assets: $DEST is up to date (dkfds $version)"
    exit 0
fi

echo "build_assets: copying dkfds $version into $DEST"
tmp="$(mktemp -d "nemkonto/static/.dkfds-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

mkdir -p "$tmp/css" "$tmp/js" "$tmp/fonts/IBMPlexSans/complete"
# Stylesheets: the neutral theme and the borger.dk / virk.dk themes, with their source maps.
cp -p "$SRC"/css/*.css "$SRC"/css/*.css.map "$tmp/css/"
cp -p "$SRC"/js/dkfds.js "$SRC"/js/dkfds.min.js "$SRC"/js/dkfds.min.js.map "$tmp/js/"
# Icons (single SVGs and the all-svg-icons.svg sprite) and the logo placeholders the CSS names.
cp -pR "$SRC/img" "$tmp/img"
# IBM Plex Sans in the formats the CSS's @font-face rules name (otf and the split sets are unused).
for format in woff2 woff ttf eot; do
    cp -pR "$SRC/fonts/IBMPlexSans/complete/$format" "$tmp/fonts/IBMPlexSans/complete/$format"
done
cp -p "$SRC/LICENSE.md" "$tmp/LICENSE.md"

# Every relative url() in the copied CSS must point at a copied file.
missing=0
while IFS= read -r css; do
    while IFS= read -r ref; do
        target="$(dirname "$css")/$ref"
        if [[ ! -f "$target" ]]; then
            echo "build_assets: $css refers to missing $ref" >&2
            missing=1
        fi
    done < <(grep -o 'url([^)]*)' "$css" | sed -E "s/^url\\([\"']?//; s/[\"']?\\)$//; s/[?#].*$//" \
                | grep -v -E '^(data:|https?:|/)' | sort -u)
done < <(find "$tmp/css" -name '*.css')
if [[ "$missing" -ne 0 ]]; then
    exit 1
fi

echo "$wanted" > "$tmp/.build-stamp"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "build_assets: done ($(du -sh "$DEST" | cut -f1))"
