from rmsprop_lib import Trace2D, TrainResult, format_result, format_trace


def test_format_trace_prints_the_chapter_line():
    trace = Trace2D(points=[(-5.0, -2.0)] + [(0.0, 0.0)] * 19 + [(-0.01059867, 1.1e-14)])
    assert format_trace(trace) == "epoch 20, x1 -0.010599, x2 0.000000"


def test_format_result_prints_the_chapter_line():
    result = TrainResult(losses=[0.5, 0.2434521], epochs=[0.0, 1.0], epoch_times=[0.1, 0.0499841])
    assert format_result(result) == "loss: 0.243452, 0.049984 sec per epoch"
