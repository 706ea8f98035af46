#!/usr/bin/env bash
# Builds and runs a throwaway package outside the repository that depends on this one by path
# (scripts/consumer-check/main.swift): the package must work as a dependency, from any working directory, with no
# ../shared, no environment variable and no pip. Usage: scripts/consumer-check.sh   (run from anywhere)
set -euo pipefail
repository="$(cd "$(dirname "$0")/.." && pwd)"
identity="$(basename "$repository" | tr '[:upper:]' '[:lower:]')"
work="$(mktemp -d /tmp/laclip-consumer.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/Sources/Consumer"
cp "$repository/scripts/consumer-check/main.swift" "$work/Sources/Consumer/main.swift"
cat > "$work/Package.swift" <<MANIFEST
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "Consumer",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "$repository")],
    targets: [.executableTarget(name: "Consumer", dependencies: [.product(name: "LaCLIP", package: "$identity")])]
)
MANIFEST
cd "$work"
swift build 2>&1 | tee "$work/build.log" | grep -E "error|warning" || true
if grep -E "warning:" "$work/build.log" | grep -q "$repository"; then
    echo "consumer-check: building the package as a dependency gives warnings:" >&2
    grep -E "warning:" "$work/build.log" | grep "$repository" >&2
    exit 1
fi
cd /
"$work/.build/debug/Consumer"
