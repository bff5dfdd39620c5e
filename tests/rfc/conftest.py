"""The RFC suite's helpers assert with pytest's rewritten asserts, so a failure shows both segments."""

import pytest

pytest.register_assert_rewrite("tests.rfc.helpers")
