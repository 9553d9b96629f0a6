"""hnas: one-shot NAS supernets for the CVPR 2021/2022 Track 1 challenges, on PaddlePaddle."""
# Paddle 2.6 bundles an old zlib; loading the system zlib first keeps gzip, scipy and sklearn working.
# Paddle 3.3's wheel bundles none, and the import costs nothing there; asking which paddle is installed
# (importlib.metadata) would import zlib itself, so the guard stays unconditional.
import zlib  # noqa: F401  (must stay the first import)
import warnings

# paddle imports distutils after setuptools; the notice it triggers says nothing to a user of hnas
warnings.filterwarnings("ignore", message="Setuptools is replacing distutils")
# paddle 3 warns at import that ccache (for compiling custom C++ operators, which hnas has none of) is absent
warnings.filterwarnings("ignore", message="No ccache found")

__version__ = "0.1.0"
