"""HashDropout behaves like nn.Dropout: rate, scaling, independence, reproducibility, gradients."""

import pytest
import torch

from mosaicbert.architecture.dropout import HashDropout, hash_keep_mask

N = 1_000_000


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_drop_rate_and_scaling(p):
    dropout = HashDropout(p).train()
    x = torch.rand(1000, 1000) + 0.5  # never zero, so zeros in the output are dropped elements
    out = dropout(x)
    dropped = out == 0
    sigma = (p * (1 - p) / N) ** 0.5
    assert abs(dropped.float().mean().item() - p) < 5 * sigma
    torch.testing.assert_close(out[~dropped], x[~dropped] / (1 - p))


def test_masks_are_independent_across_elements_and_calls():
    p = 0.5
    first, second = (hash_keep_mask(torch.Size([N]), p) for _ in range(2))
    sigma = (0.25 * 0.75 / N) ** 0.5
    assert abs((first[:-1] & first[1:]).float().mean().item() - 0.25) < 5 * sigma  # neighbours
    assert abs((first[:-1024] & first[1024:]).float().mean().item() - 0.25) < 5 * sigma  # rows apart
    assert abs((first & second).float().mean().item() - 0.25) < 5 * sigma  # consecutive calls


def test_seeded_runs_reproduce_the_masks_and_eval_is_identity():
    dropout = HashDropout(0.1).train()
    x = torch.randn(64, 32)
    torch.manual_seed(5)
    first = dropout(x)
    torch.manual_seed(5)
    assert torch.equal(dropout(x), first)
    assert not torch.equal(dropout(x), first)
    assert dropout.eval()(x) is x


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gradient_is_mask_times_scale(dtype):
    dropout = HashDropout(0.25).train()
    x = (torch.rand(256, 48) + 0.5).to(dtype).requires_grad_()
    out = dropout(x)
    out.backward(torch.ones_like(out))
    assert out.dtype == dtype
    expected = (out != 0).to(dtype) / 0.75
    torch.testing.assert_close(x.grad, expected)
