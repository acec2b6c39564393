"""Build the Cython example against the installed cbce: `python setup.py build_ext --inplace`.

cbce.get_include() goes on both include paths: Cython's, so that `cimport cbce` finds
cbce.pxd, and the C compiler's, so that the generated C finds cbce/cbce.h and
cbce/capi.h. Nothing is linked: the kernels are reached through cbce's capsule.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

import cbce

setup(
    name="cbce_cython_example",
    ext_modules=cythonize(
        [
            Extension(
                "cbce_cython_example",
                sources=["cbce_cython_example.pyx"],
                include_dirs=[cbce.get_include()],
            )
        ],
        include_path=[cbce.get_include()],
    ),
)
