"""A solution's title names the exercise it answers in words, not as a link.

sphinx-exercise titles a solution "解答" followed by a link to the exercise it answers
(" 练习 1"). In this book each solution follows its exercise, and sphinx-togglebutton makes
the whole title the control that opens the folded answer: a reader who taps the title's
words tapped the link, and the page jumped up to the exercise with the answer still closed.
This post-transform, run after sphinx-exercise's (priority 21), keeps the link's words and
drops the link: the title reads "解答 练习 1", and a tap anywhere on it opens the answer.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx_exercise.nodes import solution_node  # type: ignore[import-untyped]  # no py.typed


class SolutionTitlesInWords(SphinxPostTransform):
    default_priority = 22  # after sphinx-exercise's ResolveTitlesInSolutions

    def run(self, **kwargs) -> None:
        for solution in self.document.findall(solution_node):
            title = solution.children[0] if solution.children else None
            if not isinstance(title, nodes.title):
                continue
            for link in list(title.findall(nodes.reference)):
                link.replace_self(nodes.Text(link.astext()))


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_post_transform(SolutionTitlesInWords)
    return {"version": "2", "parallel_read_safe": True, "parallel_write_safe": True}
