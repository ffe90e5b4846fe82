#!/usr/bin/env bash
# Copies the web app's browser libraries from node_modules/ (npm ci, versions pinned in
# package.json) into frontend/vendor/, with their licences. The app is served without internet
# and its Content-Security-Policy allows no CDN, so these files are committed; run this again
# after raising a version (npm install -D --save-exact leaflet@X) and commit the result.
# axe-core is not copied: the browser tests inject it from node_modules/ and it is never served.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=frontend/vendor
rm -rf "$vendor/leaflet" "$vendor/leaflet.markercluster"
mkdir -p "$vendor/leaflet" "$vendor/leaflet.markercluster"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/LICENSE "$vendor/leaflet/"
cp -r node_modules/leaflet/dist/images "$vendor/leaflet/"
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js node_modules/leaflet.markercluster/dist/MarkerCluster.css \
  node_modules/leaflet.markercluster/MIT-LICENCE.txt "$vendor/leaflet.markercluster/"
# The minified files name source maps that are not shipped; drop the reference.
sed -i '/sourceMappingURL=/d' "$vendor/leaflet/leaflet.js" "$vendor/leaflet.markercluster/leaflet.markercluster.js"
for package in leaflet leaflet.markercluster; do
  version=$(node -p "require('./node_modules/$package/package.json').version")
  echo "$package $version (npm), copied by scripts/vendor.sh" >"$vendor/$package/VERSION"
done
chmod -R u=rwX,go=rX "$vendor"
echo "frontend/vendor/ bijgewerkt uit node_modules/"
