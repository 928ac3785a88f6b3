/*
 * libpal: learning representations from a similarity graph.
 *
 * pal.h includes the whole public API:
 *   core.h    status codes, version, allocator, computation context
 *   graph.h   similarity graphs (dense, sparse, structured) and pair batches
 *   loss.h    VIC^2, SimCLR and BarlowTwins on a graph, the pairwise form
 *   oracle.h  the knowledge store and the oracles that discover the graph
 *   spectral.h the closed-form optimum, the Gaussian kernel, a linear probe
 *
 * Link with -lpal (pkg-config --cflags --libs pal).
 */
#ifndef PAL_PAL_H
#define PAL_PAL_H

#include "core.h"
#include "graph.h"
#include "loss.h"
#include "oracle.h"
#include "spectral.h"

#endif /* PAL_PAL_H */
