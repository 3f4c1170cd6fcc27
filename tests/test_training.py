import pytest
import torch

from rmsprop_lib import (
    init_rmsprop_states,
    linreg,
    rmsprop,
    squared_loss,
    train_ch7,
    train_pytorch_ch7,
)

CHAPTER = {"lr": 0.01, "gamma": 0.9}


def test_linreg_and_squared_loss_by_hand():
    torch.testing.assert_close(
        linreg(torch.eye(2), torch.tensor([[2.0], [3.0]]), torch.tensor([1.0])),
        torch.tensor([[3.0], [4.0]]),
        rtol=0,
        atol=0,
    )
    torch.testing.assert_close(
        squared_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])),
        torch.tensor([[0.5], [2.0]]),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_scratch_training_lands_in_the_chapter_band(chapter_data, seed):
    features, labels = chapter_data
    result = train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels, seed=seed)
    assert result.losses[0] > 0.45  # near the label variance / 2 before training
    assert 0.235 < result.losses[-1] < 0.255


@pytest.mark.parametrize("seed", [0, 7])
def test_concise_training_with_torch_lands_in_the_chapter_band(chapter_data, seed):
    features, labels = chapter_data
    result = train_pytorch_ch7(
        torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9}, features, labels, seed=seed
    )
    assert 0.235 < result.losses[-1] < 0.255


def test_training_records_every_100_examples_and_times_each_epoch(chapter_data):
    features, labels = chapter_data
    result = train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels)
    assert len(result.losses) == 31 and len(result.epoch_times) == 2
    assert result.epochs == pytest.approx([i / 15 for i in range(31)], rel=0, abs=1e-12)
    assert all(t > 0 for t in result.epoch_times)


def test_record_every_counts_examples_and_the_last_batch_may_be_short(chapter_data):
    features, labels = chapter_data
    # 1500 examples in batches of 7: 214 full batches and one of 2; a record every 700.
    result = train_ch7(
        rmsprop,
        init_rmsprop_states(),
        CHAPTER,
        features,
        labels,
        batch_size=7,
        num_epochs=1,
        record_every=700,
    )
    assert result.epochs == pytest.approx([0.0, 700 / 1500, 1400 / 1500])


def test_training_is_reproducible_for_a_seed_and_varies_across_seeds(chapter_data):
    features, labels = chapter_data
    runs = [
        train_ch7(rmsprop, init_rmsprop_states(), CHAPTER, features, labels, seed=s).losses
        for s in (3, 3, 4)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_train_pytorch_ch7_leaves_torchs_global_generator_alone(chapter_data):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    features, labels = chapter_data
    train_pytorch_ch7(
        torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9}, features, labels, num_epochs=1
    )
    assert torch.equal(torch.rand(3), expected)


def test_training_runs_in_float64_when_data_and_states_are_float64(chapter_data):
    features, labels = (t.double() for t in chapter_data)
    states = [s.double() for s in init_rmsprop_states()]
    result = train_ch7(rmsprop, states, CHAPTER, features, labels)
    assert 0.235 < result.losses[-1] < 0.255 and states[0].dtype == torch.float64


def test_gamma_one_diverges_as_the_exercise_says(chapter_data):
    # Legitimate divergence stays possible: gamma = 1 is valid input.
    features, labels = chapter_data
    result = train_ch7(rmsprop, init_rmsprop_states(), {"lr": 0.01, "gamma": 1.0}, features, labels)
    assert result.losses[1] > 1e6
    assert not torch.isfinite(torch.tensor(result.losses[-1]))
