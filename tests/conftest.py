"""Fixtures shared by the unit tests (quick mode and the offline switch are set in the repository's conftest.py)."""

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test: same seed gives identical scores only at a fixed thread count."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
