#!/bin/sh
# Make sure the Debian packages named on the command line are installed.
# As root, missing packages are installed with apt-get; otherwise the
# script stops with one line naming them. On a system without dpkg, or
# with PAL_NO_DEPS=1, it trusts the caller and does nothing.
set -eu

[ "${PAL_NO_DEPS:-0}" = 1 ] && exit 0
command -v dpkg-query >/dev/null 2>&1 || exit 0

missing=
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "libpal: installing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has empty package lists: refresh them once if the
    # first attempt cannot find the packages.
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends $missing >&2; then
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends $missing >&2
    fi
    exit 0
fi

echo "libpal: missing Debian packages:$missing (install them with: sudo apt-get install$missing)" >&2
exit 1
