"""The CampaignService stub, beside the shared stubs of tests/conftest.py."""

from __future__ import annotations

import grpc
import pytest
from consent.v1 import campaign_pb2_grpc


@pytest.fixture
def campaign(channel: grpc.aio.Channel) -> campaign_pb2_grpc.CampaignServiceStub:
    return campaign_pb2_grpc.CampaignServiceStub(channel)
