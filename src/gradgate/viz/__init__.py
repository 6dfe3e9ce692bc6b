"""Pictures of computation graphs: ``gradgate.viz.graph(tensor)``.

    g = gradgate.viz.graph(E, names={"W1": W1, "x": x})
    g.save_svg("net.svg")     # or save_png, to_dot, or just show g in a notebook
    gradgate.viz.explore(E).save("backprop.html")   # step through backward in a browser

See docs/visualising.md.
"""

from .explore import Explorer, explore
from .graph import Edge, Graph, Node, graph
from .lecture import lecture_network

__all__ = ["Edge", "Explorer", "Graph", "Node", "explore", "graph", "lecture_network"]
