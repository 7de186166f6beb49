#!/bin/sh
# doc_settings.sh NETC DOC [--update]: the settings table in DOC (docs/language.md), between
# the lines `<!-- netc --list-settings ...` and `<!-- end of netc --list-settings -->`, must be
# what `netc --list-settings` prints; --update rewrites it there (review it in git diff).
set -u
netc=$1 doc=$2 update=${3:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$netc" --list-settings >"$tmp/want" || { echo "FAIL: netc --list-settings exited $?"; exit 1; }
awk '/^<!-- end of netc --list-settings -->/ { inside = 0 } inside { print }
     /^<!-- netc --list-settings/ { inside = 1; found = 1 } END { exit !found }' "$doc" >"$tmp/got" ||
    { echo "FAIL: $doc has no '<!-- netc --list-settings' block"; exit 1; }
if [ "$update" = --update ]; then
    awk -v table="$tmp/want" '/^<!-- end of netc --list-settings -->/ { inside = 0 }
         !inside { print } /^<!-- netc --list-settings/ { inside = 1; while ((getline l < table) > 0) print l }' \
        "$doc" >"$tmp/doc" && cp "$tmp/doc" "$doc"
    echo "doc_settings: rewrote the table in $doc"
    exit 0
fi
if cmp -s "$tmp/want" "$tmp/got"; then
    echo "doc_settings: the table in $doc is current"
else
    echo "FAIL: the settings table in $doc differs from netc --list-settings (rerun with --update):"
    diff -u "$tmp/got" "$tmp/want" | head -40
    exit 1
fi
