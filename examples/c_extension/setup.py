"""Build the C example against the installed cbce: `python setup.py build_ext --inplace`.

Only cbce's headers are needed (cbce.get_include()); nothing is linked: the kernels
are reached at run time through the capsule cbce._core._C_API.
"""

from setuptools import Extension, setup

import cbce

setup(
    name="cbce_c_example",
    ext_modules=[
        Extension(
            "cbce_c_example",
            sources=["cbce_c_example.c"],
            include_dirs=[cbce.get_include()],
        )
    ],
)
