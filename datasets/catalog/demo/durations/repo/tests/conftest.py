import os
import sys

# the vendored dependency is installed into .pydeps (pip --target), not site-packages
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".pydeps"))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
