"""A solution's title links the exercise it answers without a space inside the link.

sphinx-exercise titles a solution "解答" followed by a link to the exercise (only that part
links, since executablebooks/sphinx-exercise#20) whose text begins with the space that
separates the two: " 练习 1", so the link's underline starts under a blank. This
post-transform, run after sphinx-exercise's (priority 21), moves the space out of the link:
"解答 " then "练习 1".
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx_exercise.nodes import solution_node  # type: ignore[import-untyped]  # no py.typed


class SpaceOutsideSolutionLinks(SphinxPostTransform):
    default_priority = 22  # after sphinx-exercise's ResolveTitlesInSolutions

    def run(self, **kwargs) -> None:
        for solution in self.document.findall(solution_node):
            title = solution.children[0] if solution.children else None
            if not isinstance(title, nodes.title):
                continue
            for link in title.findall(nodes.reference):
                first = link.children[0] if link.children else None
                if isinstance(first, nodes.Text) and first.startswith(" "):
                    link.replace(first, nodes.Text(first.lstrip(" ")))
                    link.parent.insert(link.parent.index(link), nodes.Text(" "))


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_post_transform(SpaceOutsideSolutionLinks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
