#!/bin/sh
# `npm run package` (see scripts/package.ts). Checked here, in sh, that `npm ci` has run: without
# it there is no Node.js 24 in node_modules, and the node npm falls back to may be too old to
# even read scripts/package.ts.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ]; then
	echo "npm run package: node_modules/.bin/node is missing — run \`npm ci\` first (it brings the Node.js 24 runtime the release bundles)" >&2
	exit 1
fi
exec node_modules/.bin/node scripts/package.ts "$@"
