#!/bin/sh
# Base image for one Debian suite: a minbase debootstrap imported as an image.
# No registry is needed (or reachable): the tree comes straight from the Debian archive.
# usage: base.sh SUITE IMAGE_TAG
# With FYNECHECK_BASE_TAR=FILE the tree goes to FILE instead (the kit imports it through
# the engine's API, which works for a remote engine too).
set -eu
suite="$1"
tag="$2"
mirror="${FYNECHECK_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d "${TMPDIR:-/tmp}/fynecheck-root-$suite.XXXXXX")"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$suite" "$root" "$mirror"
# Keep the image small and reproducible: no downloaded .debs, no apt lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
if [ -n "${FYNECHECK_BASE_TAR:-}" ]; then
  tar -C "$root" -cf "$FYNECHECK_BASE_TAR.tmp" . && mv "$FYNECHECK_BASE_TAR.tmp" "$FYNECHECK_BASE_TAR"
else
  tar -C "$root" -c . | docker import - "$tag"
fi
