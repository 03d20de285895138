import sys

from mosaicbert.exit_codes import run_entry_point
from mosaicbert.gpu_check.cli import main

sys.exit(run_entry_point("gpu_check.sh", main))
