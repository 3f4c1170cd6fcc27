"""模块的说明写成
短短的几行，
English words
stay apart.
"""


def step(x):
    """走一步：
    返回 ``x`` 本身。

    行内代码 ``a``
    后面的空格保留。
    """
    return x
