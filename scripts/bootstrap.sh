#!/usr/bin/env bash
# Installs the Debian packages Sinter needs that this machine lacks. Idempotent; quiet when
# everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(cmake gcc g++ make pkg-config llvm-19-dev libxxhash-dev libstb-dev zlib1g-dev libzstd-dev libzip-dev
      libjpeg62-turbo-dev libpng-dev libcairo2-dev libyaml-dev
      python3 python3-numpy python3-torch)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
