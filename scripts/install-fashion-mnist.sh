#!/bin/sh
# Fashion-MNIST comes from the Debian package dataset-fashion-mnist. Install it where we can (root with
# apt); elsewhere say how, and carry on: the tests skip Fashion-specific checks with a reason.
DIR=/usr/share/datasets/fashion-mnist
[ -f "$DIR/train-images-idx3-ubyte.gz" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
        || echo "note: could not install dataset-fashion-mnist with apt-get; Fashion-MNIST stays unavailable"
else
    echo "note: Fashion-MNIST needs the Debian package: sudo apt-get install dataset-fashion-mnist"
fi
exit 0
