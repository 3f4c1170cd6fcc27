import pytest
import torch

from rmsprop_lib import (RMSprop, init_rmsprop_states, linreg, rmsprop,
                         squared_loss, train_ch7, train_pytorch_ch7)

CHAPTER = {"lr": 0.01, "gamma": 0.9}


def _params_with_grads(generator):
    w = torch.randn(5, 1, dtype=torch.float64, generator=generator).requires_grad_()
    b = torch.randn(1, dtype=torch.float64, generator=generator).requires_grad_()
    w.grad = torch.randn(5, 1, dtype=torch.float64, generator=generator)
    b.grad = torch.randn(1, dtype=torch.float64, generator=generator)
    return w, b


def test_rmsprop_matches_the_chapter_formula_over_several_steps(generator):
    w, b = _params_with_grads(generator)
    states = [torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)]
    ref_params = [w.detach().clone(), b.detach().clone()]
    ref_states = [s.clone() for s in states]
    hp = {"lr": 0.03, "gamma": 0.8, "eps": 1e-6}
    for _ in range(5):
        for p in (w, b):
            p.grad = torch.randn(p.shape, dtype=torch.float64, generator=generator)
        for i, p in enumerate((w, b)):  # the chapter's formula, written out independently
            ref_states[i] = hp["gamma"] * ref_states[i] + (1 - hp["gamma"]) * p.grad**2
            ref_params[i] = ref_params[i] - hp["lr"] * p.grad / torch.sqrt(ref_states[i] + hp["eps"])
        rmsprop([w, b], states, hp)
        for got, want in zip([w, b, *states], [*ref_params, *ref_states]):
            torch.testing.assert_close(got.detach(), want, rtol=1e-14, atol=1e-15)


def test_rmsprop_default_eps_is_1e_minus_6(generator):
    w, b = _params_with_grads(generator)
    w0 = w.detach().clone()
    rmsprop([w, b], [torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)],
            {"lr": 1.0, "gamma": 0.0})
    torch.testing.assert_close(w.detach(), w0 - w.grad / torch.sqrt(w.grad**2 + 1e-6))


def test_rmsprop_allows_gamma_one_state_stays_zero(generator):
    w, b = _params_with_grads(generator)
    w0 = w.detach().clone()
    states = [torch.zeros(5, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)]
    rmsprop([w, b], states, {"lr": 0.01, "gamma": 1.0})
    assert all(torch.count_nonzero(s) == 0 for s in states)
    torch.testing.assert_close(w.detach(), w0 - 0.01 * w.grad / 1e-3)


def test_rmsprop_names_missing_hyperparameters(generator):
    with pytest.raises(KeyError, match=r"rmsprop: hyperparams is missing \['gamma'\]"):
        rmsprop(list(_params_with_grads(generator)), init_rmsprop_states(), {"lr": 0.1})


def test_init_rmsprop_states_shapes_and_zeros():
    s_w, s_b = init_rmsprop_states()
    assert s_w.shape == (5, 1) and s_b.shape == (1,)
    assert s_w.dtype == s_b.dtype == torch.float32
    assert not s_w.any() and not s_b.any()


def test_squared_loss_is_half_the_squared_error_per_example():
    y_hat = torch.tensor([[1.0], [3.0]])
    torch.testing.assert_close(squared_loss(y_hat, torch.tensor([0.0, 1.0])), torch.tensor([[0.5], [2.0]]))
    torch.testing.assert_close(linreg(torch.eye(2), torch.tensor([[2.0], [3.0]]), torch.tensor([1.0])),
                               torch.tensor([[3.0], [4.0]]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_scratch_training_lands_in_the_chapter_band(chapter_data, seed):
    features, labels = chapter_data
    result = train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels, seed=seed)
    assert len(result.losses) == len(result.epochs) == 31 and len(result.epoch_times) == 2
    assert result.epochs[0] == 0.0 and result.epochs[-1] == 2.0
    assert result.losses[0] > 0.45  # near the label variance / 2 before training
    assert 0.235 < result.losses[-1] < 0.255


@pytest.mark.parametrize("seed", [0, 7])
def test_concise_training_with_torch_lands_in_the_chapter_band(chapter_data, seed):
    features, labels = chapter_data
    result = train_pytorch_ch7(torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9}, features, labels, seed=seed)
    assert 0.235 < result.losses[-1] < 0.255


def test_training_is_reproducible_for_a_seed_and_varies_across_seeds(chapter_data):
    features, labels = chapter_data
    runs = [train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels, seed=s).losses
            for s in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_eps_in_sqrt_optimizer_reproduces_the_scratch_run_exactly(chapter_data):
    features, labels = chapter_data
    scratch = train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels, seed=5)
    concise = train_pytorch_ch7(RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "eps_in_sqrt": True,
                                          "foreach": False}, features, labels, seed=5)
    assert concise.losses == scratch.losses


def test_per_tensor_optimizer_reproduces_torch_exactly(chapter_data):
    features, labels = chapter_data
    ours = train_pytorch_ch7(RMSprop, {"lr": 0.01, "alpha": 0.9, "foreach": False}, features, labels, seed=6)
    theirs = train_pytorch_ch7(torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9}, features, labels, seed=6)
    assert ours.losses == theirs.losses


def test_default_fused_optimizer_trains_like_torch_to_rounding(chapter_data):
    features, labels = chapter_data
    ours = train_pytorch_ch7(RMSprop, {"lr": 0.01, "alpha": 0.9}, features, labels, seed=6)
    theirs = train_pytorch_ch7(torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9}, features, labels, seed=6)
    torch.testing.assert_close(torch.tensor(ours.losses), torch.tensor(theirs.losses), rtol=1e-5, atol=0)


def test_gamma_one_diverges(chapter_data):
    features, labels = chapter_data
    result = train_ch7(rmsprop, init_rmsprop_states(), {"lr": 0.01, "gamma": 1.0}, features, labels)
    assert result.losses[1] > 1e6
    assert not torch.isfinite(torch.tensor(result.losses[-1]))


@pytest.mark.parametrize("trainer", ["scratch", "concise"])
def test_training_rejects_mismatched_shapes(chapter_data, trainer):
    features, labels = chapter_data
    with pytest.raises(ValueError, match=r"features must be \(n, d\) and labels \(n,\), got \(1500, 5\) and \(1499,\)"):
        if trainer == "scratch":
            train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels[:-1])
        else:
            train_pytorch_ch7(RMSprop, {}, features, labels[:-1])
