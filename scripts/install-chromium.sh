#!/bin/sh
# The report test opens report.html in Debian's chromium (driven by the playwright package, pointed at this
# browser: a browser download by playwright itself cannot work offline). Install it where we can (root with
# apt); elsewhere say how, and carry on: the browser test then skips with that reason.
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq chromium >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
        || { echo "error: could not install Debian's chromium with apt-get (needed by the report test)"; exit 1; }
else
    echo "note: the report test needs Debian's chromium: sudo apt-get install chromium"
fi
exit 0
