#!/bin/sh
# Prints the greeting for each name given.
if [ "$1" = --check ]; then
    test -r "$GREETING_FILE"
    exit
fi
greeting=$(cat "${GREETING_FILE:-/usr/share/hello/greeting.txt}")
for name in "$@"; do
    echo "$greeting, $name!"
done
