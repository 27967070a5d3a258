from setuptools import setup

setup(name="tinyunits", version="0.3.1", packages=["tinyunits"], description="Seconds per time unit")
