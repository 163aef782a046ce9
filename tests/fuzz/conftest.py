"""The fuzz tests' hypothesis profile (fuzz_profiles.py): ``ci`` unless HYPOTHESIS_PROFILE says otherwise."""

import fuzz_profiles  # noqa: F401 - registers and loads the profile
