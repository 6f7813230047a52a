use crate::tree::{EdgeKind, NodeKind, Tree, ROOT};

/// npm's dependency flags (arborist's calcDepFlags): every package starts
/// dev, optional, devOptional, peer and extraneous; walking out from the
/// project, a dependency loses each flag its dependent lacks unless the
/// edge is of that kind. Only optional peers keep a package extraneous.
pub(crate) fn calculate(tree: &mut Tree) {
    let mut seen = vec![false; tree.nodes.len()];
    let mut queue = vec![ROOT];
    while let Some(id) = queue.pop() {
        seen[id] = true;
        if !tree.nodes[id].flags.extraneous {
            // A package something needs keeps the folders it lives in.
            let mut above = resolve_parent(tree, id);
            while let Some(parent) = above.filter(|p| tree.nodes[*p].flags.extraneous) {
                tree.nodes[parent].flags.extraneous = false;
                above = resolve_parent(tree, parent);
            }
        }
        if let NodeKind::Link(target) = tree.nodes[id].kind {
            let Some(target) = target else { continue };
            let link = tree.nodes[id].flags;
            let flags = &mut tree.nodes[target].flags;
            let before = *flags;
            flags.dev &= link.dev;
            flags.optional &= link.optional;
            flags.dev_optional &= link.dev_optional;
            flags.peer &= link.peer;
            flags.extraneous &= link.extraneous;
            if *flags != before || !seen[target] {
                queue.push(target);
            }
            continue;
        }
        let from = tree.nodes[id].flags;
        let edges: Vec<_> = tree.nodes[id].edges_out.values().cloned().collect();
        for edge in edges {
            let Some(to) = edge.to else { continue };
            let flags = &mut tree.nodes[to].flags;
            let before = *flags;
            let (dev, optional, peer) = (
                edge.kind == EdgeKind::Dev,
                edge.kind.is_optional(),
                edge.kind.is_peer(),
            );
            let optional_peer = edge.kind == EdgeKind::PeerOptional;
            if !from.extraneous && !optional_peer {
                flags.extraneous = false;
            }
            if !from.dev && !dev {
                flags.dev = false;
            }
            if !from.optional && !optional {
                flags.optional = false;
            }
            if !from.dev_optional && !from.dev && !from.optional && !dev && !optional {
                flags.dev_optional = false;
            }
            if !from.peer && !peer {
                flags.peer = false;
            }
            if *flags != before {
                queue.push(to);
            }
        }
    }
    for (id, node) in tree.nodes.iter_mut().enumerate() {
        if id != ROOT
            && seen[id]
            && node.flags.dev_optional
            && (node.flags.dev || node.flags.optional)
        {
            node.flags.dev_optional = false;
        }
    }
}

fn resolve_parent(tree: &Tree, id: usize) -> Option<usize> {
    let node = &tree.nodes[id];
    node.parent.or(node.fs_parent)
}
