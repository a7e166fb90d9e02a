"""The `compare_gan2` console script and `python -m compare_gan2`.

The console is set up (compare_gan2/console.py) before compare_gan2.main is
imported, because importing it loads TensorFlow, which prints as it loads.
"""

import sys

from compare_gan2 import console


def run() -> None:
  """Sets up the console, then runs the trainer's `main` with the command line."""
  console.setup(sys.argv)
  from compare_gan2 import main  # pylint: disable=g-import-not-at-top
  sys.exit(main.main())


if __name__ == "__main__":
  run()
