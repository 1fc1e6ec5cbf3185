#!/bin/sh
# Base image for one Debian suite: a minbase debootstrap imported as an image.
# No registry is needed (or reachable): the tree comes straight from the Debian archive.
# usage: base.sh SUITE IMAGE_TAG
set -eu
suite="$1"
tag="$2"
mirror="${FYNECHECK_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d "${TMPDIR:-/tmp}/fynecheck-root-$suite.XXXXXX")"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$suite" "$root" "$mirror"
# Keep the image small and reproducible: no downloaded .debs, no apt lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$tag"
