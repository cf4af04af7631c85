#!/usr/bin/env bash
# Headless Chromium for the browser tests: installs Debian's package when it is missing and
# this user may install packages; otherwise says so (the browser tests then skip, naming why).
set -u
for candidate in chromium chromium-browser; do
  command -v "$candidate" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium (Debian package) for the browser tests..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    && exit 0
  echo "could not install chromium; the browser tests will skip" >&2
else
  echo "chromium is not installed and this user cannot install it; the browser tests will skip" >&2
fi
exit 0
