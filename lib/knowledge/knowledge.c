/*
 * The knowledge store: must-link components, cannot-links between them,
 * and every consequence deduced, with exact counters.
 *
 * Components are a union-find forest (union by size; path halving only in
 * mutating calls, so that const queries may run concurrently) with a
 * circular list of the members of each component.
 *
 * Cannot-links are kept twice. A hash table (open addressing, linear
 * probing) holds one key per pair of roots known different, so that "are
 * these two components apart?" costs O(1). Each root also owns a list
 * naming one item of every component it is apart from, in nodes of seven
 * entries, so that a walk waits for memory once per node and resolves the
 * entries of a node together; the first node sits in the root's record,
 * so that a short list costs no memory access of its own. A list may
 * name a component through several items, or through an item whose
 * component has since merged: reading
 * resolves each entry through find and skips repeats with scratch marks,
 * and a list grown past twice its distinct size is compacted once no
 * transaction is open. A merge copies into the survivor's list the
 * components apart from the absorbed side only, resolved and each once.
 *
 * A merge moves the keys of the smaller component (by items) to the root
 * that survives, so each key moves O(log n) times over the store's life.
 * The old keys are not deleted at once: they name a root that no longer
 * exists, so no lookup can reach them, and keeping them is what lets a
 * rollback restore the table by deleting only the keys it inserted. They
 * are purged when no transaction is open.
 *
 * The count of known pairs needs, at each merge, the number of items known
 * different from each side. The absorbed side's list is walked anyway, to
 * move its keys. On the surviving side, a component with few cannot-links
 * walks its short list too (which spares the absorbed side's walk the
 * table: the marks tell which components are apart from both), while a
 * "heavy" one (PAL__KN_HEAVY_DEGREE distinct cannot-links or more) keeps
 * the count up to date, pushed to it by every merge of a neighbour. A
 * heavy component finds its heavy neighbours through its list or through
 * the set of heavy components, whichever is shorter, so an answer never
 * walks a long list it does not have to.
 *
 * Every answer of pal__kn_answer runs inside a transaction: it reserves
 * all the memory it may need before changing anything, then records an
 * undo entry from which pal__kn_rollback restores the store exactly. The
 * answers of a batch (pal__kn_answer_batch) run outside transactions,
 * with the memory of the whole batch reserved first; they keep no undo
 * entry, halve paths and free the absorbed lists at once, and fetch the
 * memory of the next answers while recording the current one.
 */
#define _DEFAULT_SOURCE

#include "knowledge.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#define NIL UINT32_MAX
#define EMPTY_KEY UINT64_MAX

/* Distinct cannot-links from which a component keeps its count of items
 * known different instead of walking its list. A compile-time setting so
 * that the white-box tests can reach every path with few items. */
#ifndef PAL__KN_HEAVY_DEGREE
#define PAL__KN_HEAVY_DEGREE 128
#endif

/* A list is compacted when it holds more than twice its distinct entries
 * plus this slack, which spares tiny lists needless work. */
#define COMPACT_SLACK 16

/* Stale keys are purged when they outnumber live ones by this much. */
#define PURGE_SLACK 4096

/*
 * A node of a cannot-link list: up to NODE_ITEMS entries, each an item
 * of a component known different. Every node of a list is full but the
 * last, which holds the rest, so that a walk waits for memory once per
 * node rather than once per entry, and resolves the entries of a node
 * together.
 */
#define NODE_ITEMS 7

typedef struct node {
    int32_t item[NODE_ITEMS];
    uint32_t next;   /* next node of the list, NIL at the end */
} node_t;

_Static_assert(sizeof(node_t) == 32, "two nodes per cache line");

/*
 * What the store keeps per item, in one record of one cache line, so that
 * an answer touches one line per item: the component fields, valid at
 * roots, and the first node of the component's cannot-link list, so that
 * a short list costs no access beyond its root's record. Further nodes
 * come from the pool. A node is named by its pool index, or by
 * FIRST_NODE | r for the first node of item r.
 */
typedef struct item {
    int32_t parent, size;
    int32_t next;        /* next member of the circular list */
    int32_t deg;         /* distinct components known different */
    int32_t heavy;       /* 1 + slot in the heavy set, 0 when light */
    uint32_t tail, len;  /* the cannot-link list: last node, entries */
    uint32_t stamp;      /* scratch mark of walks, at roots */
    node_t first;        /* the list's first node */
} item_t;

_Static_assert(sizeof(item_t) == 64, "one record per cache line");

#define FIRST_NODE 0x80000000u

typedef struct heavy {
    int32_t root;
    int64_t apart;   /* items known different from the component */
} heavy_t;

enum { UNDO_LINK = 1, UNDO_MERGE = 2 };

/*
 * What an answer changed. For a link, a and b are the two roots made
 * apart; for a merge, a is the root that survived and b the one absorbed.
 */
typedef struct undo {
    int kind;
    int32_t a, b;
    uint32_t tail_a, len_a;           /* a's list before */
    uint32_t tail_b, len_b;           /* link: b's list before */
    int32_t deg_a;                    /* merge: a's degree before */
    int32_t heavy_pos_b;              /* merge: b's slot in the heavy
                                         set, -1 when light */
    int64_t apart_a, apart_b;         /* merge: their stored sums */
    int64_t added0;                   /* keys added before this answer */
    bool born_a, born_b;              /* became heavy */
} undo_t;

struct pal__kn {
    pal_allocator_t alloc;
    int32_t n;

    item_t *it;          /* n records, aligned on cache lines */
    void *it_block;      /* the allocation they live in */
    uint32_t gen;        /* the last generation of scratch marks */

    /* Nodes of the cannot-link lists, with a free list. */
    node_t *pool;
    uint32_t pool_used, pool_cap, free_head, nfree;

    /* Keys of root pairs known different, live and stale. */
    uint64_t *keys;
    uint64_t key_cap, key_count;
    int key_bits;

    heavy_t *hv;
    int64_t nheavy, heavy_cap;

    /* The answer log, one packed word per answer. */
    uint64_t *log;
    int64_t log_cap;

    pal__kn_counts_t c;

    /* The open transaction, if tx is set. Answers outside transactions
     * (pal__kn_answer_batch) keep no undo log. */
    bool tx;
    int64_t tx_merges;
    pal__kn_counts_t saved;
    undo_t *undo;
    int64_t nundo, undo_cap;
    uint64_t *added;     /* keys inserted, in order */
    int64_t nadded, added_cap;
    undo_t scratch_undo; /* the entry of an answer outside transactions */
};

/* ---- Creation ------------------------------------------------------------ */

/*
 * The records, the key table and the nodes are read at random, one cache
 * line per access. Offered to transparent huge pages (a hint the system
 * may ignore, for the whole pages inside the block), they also spare most
 * of those accesses a walk of the page tables.
 */
static void hint_huge(void *p, size_t len)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t page = 4096;
    uintptr_t skip = (page - (uintptr_t)p % page) % page;

    if (p && len >= ((size_t)2 << 20) + skip)
        (void)madvise((char *)p + skip, (len - skip) / page * page,
                      MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}

int pal__kn_create(pal__kn_t **out, int32_t n, const pal_allocator_t *alloc)
{
    pal__kn_t *kn;

    kn = pal__alloc(alloc, sizeof *kn);
    if (!kn)
        return PAL_E_NOMEM;
    memset(kn, 0, sizeof *kn);
    kn->alloc = *alloc;
    kn->n = n;

    /* 64-byte records, aligned on cache lines. */
    kn->it_block = pal__alloc_array(alloc, (size_t)n + 2, sizeof *kn->it);
    kn->key_bits = 6;
    kn->key_cap = (uint64_t)1 << kn->key_bits;
    kn->keys = pal__alloc_array(alloc, (size_t)kn->key_cap,
                                sizeof *kn->keys);
    if (!kn->it_block || !kn->keys) {
        pal__free(alloc, kn->it_block);
        pal__free(alloc, kn->keys);
        pal__free(alloc, kn);
        return PAL_E_NOMEM;
    }
    hint_huge(kn->it_block, ((size_t)n + 2) * sizeof *kn->it);
    kn->it = (item_t *)((char *)kn->it_block +
                        (64u - (uintptr_t)kn->it_block % 64u) % 64u);
    memset(kn->keys, 0xff, (size_t)kn->key_cap * sizeof *kn->keys);

    for (int32_t i = 0; i < n; i++) {
        kn->it[i].parent = i;
        kn->it[i].size = 1;
        kn->it[i].next = i;
        kn->it[i].deg = 0;
        kn->it[i].heavy = 0;
        kn->it[i].tail = FIRST_NODE | (uint32_t)i;
        kn->it[i].first.next = NIL;
        kn->it[i].len = 0;
        kn->it[i].stamp = 0;
    }
    kn->free_head = NIL;
    kn->c.components = n;
    *out = kn;
    return PAL_OK;
}

void pal__kn_destroy(pal__kn_t *kn)
{
    if (!kn)
        return;
    pal__free(&kn->alloc, kn->it_block);
    pal__free(&kn->alloc, kn->pool);
    pal__free(&kn->alloc, kn->keys);
    pal__free(&kn->alloc, kn->hv);
    pal__free(&kn->alloc, kn->log);
    pal__free(&kn->alloc, kn->undo);
    pal__free(&kn->alloc, kn->added);
    pal__free(&kn->alloc, kn);
}

int32_t pal__kn_n(const pal__kn_t *kn)
{
    return kn->n;
}

const pal__kn_counts_t *pal__kn_counts(const pal__kn_t *kn)
{
    return &kn->c;
}

/*
 * Grow an array of elem-byte entries, of which used are in use, to hold at
 * least need entries. The array is unchanged on failure.
 */
static int grow(const pal_allocator_t *a, void **p, size_t elem,
                int64_t used, int64_t *cap, int64_t need)
{
    int64_t c = *cap > 0 ? *cap : 16;
    void *q;

    if (need <= *cap)
        return PAL_OK;
    while (c < need)
        c = c > INT64_MAX / 2 ? need : 2 * c;
    q = pal__alloc_array(a, (size_t)c, elem);
    if (!q)
        return PAL_E_NOMEM;
    hint_huge(q, (size_t)c * elem);
    if (used > 0)
        memcpy(q, *p, (size_t)used * elem);
    pal__free(a, *p);
    *p = q;
    *cap = c;
    return PAL_OK;
}

/* ---- Union-find ---------------------------------------------------------- */

int32_t pal__kn_find(const pal__kn_t *kn, int32_t i)
{
    while (kn->it[i].parent != i)
        i = kn->it[i].parent;
    return i;
}

int32_t pal__kn_find_mut(pal__kn_t *kn, int32_t i)
{
    item_t *it = kn->it;

    /* After a merge inside a transaction, halving could hang a node
     * straight under the surviving root, past the absorbed one, and a
     * rollback would then leave it in the wrong component. */
    if (kn->tx_merges > 0)
        return pal__kn_find(kn, i);
    while (it[i].parent != i) {
        it[i].parent = it[it[i].parent].parent;
        i = it[i].parent;
    }
    return i;
}

int32_t pal__kn_size(const pal__kn_t *kn, int32_t root)
{
    return kn->it[root].size;
}

int32_t pal__kn_next(const pal__kn_t *kn, int32_t i)
{
    return kn->it[i].next;
}

/*
 * The first of k fresh, consecutive generations of scratch marks. Before
 * the counter would wrap around, the marks are cleared, so that none is
 * mistaken for current.
 */
static uint32_t new_gens(pal__kn_t *kn, uint32_t k)
{
    if (kn->gen > UINT32_MAX - k) {
        for (int32_t i = 0; i < kn->n; i++)
            kn->it[i].stamp = 0;
        kn->gen = 0;
    }
    kn->gen += k;
    return kn->gen - k + 1;
}

static uint32_t new_gen(pal__kn_t *kn)
{
    return new_gens(kn, 1);
}

/* ---- The table of apart pairs -------------------------------------------- */

static inline uint64_t pair_key(int32_t a, int32_t b)
{
    uint32_t lo = (uint32_t)(a < b ? a : b);
    uint32_t hi = (uint32_t)(a < b ? b : a);

    return (uint64_t)lo << 32 | hi;
}

static inline uint64_t key_home(uint64_t key, int bits)
{
    return (key * 0x9e3779b97f4a7c15u) >> (64 - bits);
}

static bool key_has(const pal__kn_t *kn, uint64_t key)
{
    uint64_t mask = kn->key_cap - 1;

    for (uint64_t s = key_home(key, kn->key_bits);; s = (s + 1) & mask) {
        if (kn->keys[s] == key)
            return true;
        if (kn->keys[s] == EMPTY_KEY)
            return false;
    }
}

bool pal__kn_apart(const pal__kn_t *kn, int32_t ra, int32_t rb)
{
    return ra != rb && key_has(kn, pair_key(ra, rb));
}

static void key_place(uint64_t *keys, int bits, uint64_t key)
{
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    uint64_t s = key_home(key, bits);

    while (keys[s] != EMPTY_KEY)
        s = (s + 1) & mask;
    keys[s] = key;
}

/* Insert a key known absent, into room reserved beforehand. */
static void key_insert(pal__kn_t *kn, uint64_t key)
{
    key_place(kn->keys, kn->key_bits, key);
    kn->key_count++;
    if (kn->tx)
        kn->added[kn->nadded++] = key;
}

/* Empty slot s, shifting back the entries of its cluster so that every
 * key stays reachable from its home slot. */
static void key_delete_at(pal__kn_t *kn, uint64_t s)
{
    uint64_t mask = kn->key_cap - 1, j = s;

    for (;;) {
        uint64_t h;

        j = (j + 1) & mask;
        if (kn->keys[j] == EMPTY_KEY)
            break;
        h = key_home(kn->keys[j], kn->key_bits);
        /* A key whose home lies cyclically in (s, j] must not move
         * before it. */
        if (s < j ? (s < h && h <= j) : (s < h || h <= j))
            continue;
        kn->keys[s] = kn->keys[j];
        s = j;
    }
    kn->keys[s] = EMPTY_KEY;
    kn->key_count--;
}

static void key_delete(pal__kn_t *kn, uint64_t key)
{
    uint64_t mask = kn->key_cap - 1;
    uint64_t s = key_home(key, kn->key_bits);

    while (kn->keys[s] != key)
        s = (s + 1) & mask;
    key_delete_at(kn, s);
}

/* A key is stale once one of its roots has been absorbed. */
static inline bool key_stale(const pal__kn_t *kn, uint64_t key)
{
    int32_t a = (int32_t)(key >> 32), b = (int32_t)(uint32_t)key;

    return kn->it[a].parent != a || kn->it[b].parent != b;
}

/* Make room for extra more keys (table load at most 70%). */
static int key_reserve(pal__kn_t *kn, uint64_t extra)
{
    uint64_t need = kn->key_count + extra, *keys;
    int bits = kn->key_bits;

    if (need * 10 <= kn->key_cap * 7)
        return PAL_OK;
    while (need * 10 > ((uint64_t)1 << bits) * 7) {
        if (bits >= 62)
            return PAL_E_NOMEM;
        bits++;
    }
    keys = pal__alloc_array(&kn->alloc, (size_t)1 << bits, sizeof *keys);
    if (!keys)
        return PAL_E_NOMEM;
    hint_huge(keys, ((size_t)1 << bits) * sizeof *keys);
    memset(keys, 0xff, ((size_t)1 << bits) * sizeof *keys);
    for (uint64_t s = 0; s < kn->key_cap; s++)
        if (kn->keys[s] != EMPTY_KEY)
            key_place(keys, bits, kn->keys[s]);
    pal__free(&kn->alloc, kn->keys);
    kn->keys = keys;
    kn->key_bits = bits;
    kn->key_cap = (uint64_t)1 << bits;
    return PAL_OK;
}

/* Delete the stale keys in place. Only outside transactions. */
static void key_purge(pal__kn_t *kn)
{
    uint64_t mask = kn->key_cap - 1, start = 0;

    /* Walking from an empty slot, a backward shift only ever moves keys
     * from slots not yet visited into the current one, which is then
     * looked at again. */
    while (kn->keys[start] != EMPTY_KEY)
        start++;
    for (uint64_t t = 1; t <= mask;) {
        uint64_t s = (start + t) & mask;

        if (kn->keys[s] != EMPTY_KEY && key_stale(kn, kn->keys[s]))
            key_delete_at(kn, s);
        else
            t++;
    }
}

/* ---- Lists and heavy components ------------------------------------------ */

/* Make sure k nodes can be taken without allocating. */
static int pool_reserve(pal__kn_t *kn, uint32_t k)
{
    int64_t cap = kn->pool_cap, need;

    if (kn->nfree + (kn->pool_cap - kn->pool_used) >= k)
        return PAL_OK;
    need = (int64_t)kn->pool_used + k;
    if (need >= (int64_t)FIRST_NODE)
        return PAL_E_NOMEM;
    if (grow(&kn->alloc, (void **)&kn->pool, sizeof *kn->pool,
             kn->pool_used, &cap, need) != PAL_OK)
        return PAL_E_NOMEM;
    kn->pool_cap = cap < (int64_t)FIRST_NODE ? (uint32_t)cap : FIRST_NODE - 1;
    return PAL_OK;
}

/* Entries in a node, of a list with left entries from it on. */
static inline uint32_t node_fill(uint32_t left)
{
    return left < NODE_ITEMS ? left : NODE_ITEMS;
}

static inline node_t *node_at(const pal__kn_t *kn, uint32_t v)
{
    return v & FIRST_NODE ? &kn->it[v & ~FIRST_NODE].first : &kn->pool[v];
}

static uint32_t pool_take(pal__kn_t *kn)
{
    uint32_t v;

    if (kn->free_head != NIL) {
        v = kn->free_head;
        kn->free_head = kn->pool[v].next;
        kn->nfree--;
    } else {
        v = kn->pool_used++;
    }
    return v;
}

/* First nodes stay with their records. */
static void pool_give(pal__kn_t *kn, uint32_t v)
{
    if (v & FIRST_NODE)
        return;
    kn->pool[v].next = kn->free_head;
    kn->free_head = v;
    kn->nfree++;
}

/* Add an entry naming item at the end of r's list, in a new last node
 * when the last one is full. */
static void list_push(pal__kn_t *kn, int32_t r, int32_t item)
{
    item_t *x = &kn->it[r];
    uint32_t slot = x->len % NODE_ITEMS;

    if (slot == 0 && x->len > 0) {
        uint32_t v = pool_take(kn);

        kn->pool[v].next = NIL;
        node_at(kn, x->tail)->next = v;
        x->tail = v;
    }
    node_at(kn, x->tail)->item[slot] = item;
    x->len++;
}

/* Put back r's list as it was with tail and len, before entries were
 * pushed onto it: the nodes added since go back to the pool. */
static void list_restore(pal__kn_t *kn, int32_t r, uint32_t tail,
                         uint32_t len)
{
    node_t *t = node_at(kn, tail);
    uint32_t v = t->next;

    while (v != NIL) {
        uint32_t nx = kn->pool[v].next;

        pool_give(kn, v);
        v = nx;
    }
    t->next = NIL;
    kn->it[r].tail = tail;
    kn->it[r].len = len;
}

/* Give every node of r's list back to the pool. */
static void list_free(pal__kn_t *kn, int32_t r)
{
    list_restore(kn, r, FIRST_NODE | (uint32_t)r, 0);
}

/*
 * The roots of the k entries of node v, into c. The records of all k
 * items are requested before any is read, and the next node too, so that
 * a walk waits for memory about once per node. The entries are repointed
 * at their roots when that is safe (as for path halving), so that later
 * walks find them at once.
 */
static inline void node_roots(pal__kn_t *kn, uint32_t v, uint32_t k,
                              int32_t *c)
{
    node_t *nd = node_at(kn, v);

    if (nd->next != NIL)
        __builtin_prefetch(&kn->pool[nd->next]);
    for (uint32_t s = 0; s < k; s++)
        __builtin_prefetch(&kn->it[nd->item[s]]);
    for (uint32_t s = 0; s < k; s++) {
        c[s] = pal__kn_find_mut(kn, nd->item[s]);
        if (kn->tx_merges == 0 && nd->item[s] != c[s])
            nd->item[s] = c[s];
    }
}

/* A walk over a list, node by node: walk_next puts the roots of the
 * next node's entries into c and returns how many, 0 at the end. */
typedef struct walk {
    uint32_t v, left;
} walk_t;

static inline walk_t walk_start(const pal__kn_t *kn, int32_t r)
{
    walk_t w = {FIRST_NODE | (uint32_t)r, kn->it[r].len};

    return w;
}

static inline uint32_t walk_next(pal__kn_t *kn, walk_t *w, int32_t *c)
{
    uint32_t k = node_fill(w->left);

    if (w->left == 0)
        return 0;
    node_roots(kn, w->v, k, c);
    w->v = node_at(kn, w->v)->next;
    w->left -= k;
    return k;
}

/* Number of items in the distinct components of r's list. */
static int64_t walk_apart(pal__kn_t *kn, int32_t r)
{
    uint32_t g = new_gen(kn);
    int32_t c[NODE_ITEMS];
    int64_t sum = 0;
    walk_t wk = walk_start(kn, r);

    for (uint32_t k; (k = walk_next(kn, &wk, c)) > 0;) {
        for (uint32_t s = 0; s < k; s++) {
            item_t *x = &kn->it[c[s]];

            if (x->stamp != g) {
                x->stamp = g;
                sum += x->size;
            }
        }
    }
    return sum;
}

static inline int64_t *heavy_sum(pal__kn_t *kn, int32_t r)
{
    return &kn->hv[kn->it[r].heavy - 1].apart;
}

int64_t pal__kn_apart_items(pal__kn_t *kn, int32_t root)
{
    return kn->it[root].heavy ? *heavy_sum(kn, root) : walk_apart(kn, root);
}

static void heavy_push(pal__kn_t *kn, int32_t r, int64_t apart)
{
    kn->hv[kn->nheavy].root = r;
    kn->hv[kn->nheavy].apart = apart;
    kn->it[r].heavy = (int32_t)++kn->nheavy;
}

static void heavy_pop(pal__kn_t *kn, int32_t r)
{
    kn->nheavy--;
    kn->it[r].heavy = 0;
}

/* Remove r from the heavy set, moving the last entry into its slot. */
static void heavy_remove(pal__kn_t *kn, int32_t r)
{
    int64_t p = kn->it[r].heavy - 1, last = kn->nheavy - 1;

    if (p != last) {
        kn->hv[p] = kn->hv[last];
        kn->it[kn->hv[p].root].heavy = (int32_t)(p + 1);
    }
    kn->nheavy--;
    kn->it[r].heavy = 0;
}

/* Undo heavy_remove of r from slot p. */
static void heavy_unremove(pal__kn_t *kn, int32_t r, int64_t p,
                           int64_t apart)
{
    if (p < kn->nheavy) {
        kn->hv[kn->nheavy] = kn->hv[p];
        kn->it[kn->hv[p].root].heavy = (int32_t)(kn->nheavy + 1);
    }
    kn->hv[p].root = r;
    kn->hv[p].apart = apart;
    kn->it[r].heavy = (int32_t)(p + 1);
    kn->nheavy++;
}

/* Make r heavy if its degree has reached the threshold. */
static bool maybe_heavy(pal__kn_t *kn, int32_t r)
{
    if (kn->it[r].heavy || kn->it[r].deg < PAL__KN_HEAVY_DEGREE)
        return false;
    heavy_push(kn, r, walk_apart(kn, r));
    return true;
}

/*
 * Add delta to the stored count of every heavy component apart from a but
 * not from b, and return the number of items apart from a. The components
 * apart from b carry the mark gb; ga, the next generation, is free for
 * this walk. Marks are read instead of the table: the few heavy
 * components stay in cache, while the table's keys for b would not.
 */
static int64_t push_side(pal__kn_t *kn, int32_t a, uint32_t gb, uint32_t ga,
                         int64_t delta)
{
    int32_t c[NODE_ITEMS];
    int64_t sum = 0;
    walk_t wk;

    if (kn->it[a].heavy && kn->nheavy <= (int64_t)kn->it[a].len) {
        for (int64_t h = 0; h < kn->nheavy; h++) {
            int32_t r = kn->hv[h].root;

            if (kn->it[r].stamp != gb && pal__kn_apart(kn, a, r))
                kn->hv[h].apart += delta;
        }
        return *heavy_sum(kn, a);
    }
    wk = walk_start(kn, a);
    for (uint32_t k; (k = walk_next(kn, &wk, c)) > 0;) {
        for (uint32_t s = 0; s < k; s++) {
            item_t *x = &kn->it[c[s]];
            bool in_b = x->stamp == gb;

            if (x->stamp == ga)
                continue;
            x->stamp = ga;
            sum += x->size;
            if (x->heavy && !in_b)
                *heavy_sum(kn, c[s]) += delta;
        }
    }
    return kn->it[a].heavy ? *heavy_sum(kn, a) : sum;
}

/*
 * Drop repeated and stale entries from r's list, outside transactions.
 * The distinct roots are written back in reading order, seven to a node
 * from the first node on: a write never reaches an entry not yet read.
 * The nodes after the last one written go back to the pool.
 */
static void compact(pal__kn_t *kn, int32_t r)
{
    uint32_t g = new_gen(kn), w = FIRST_NODE | (uint32_t)r, len = 0;
    int32_t c[NODE_ITEMS];
    walk_t wk = walk_start(kn, r);

    for (uint32_t k; (k = walk_next(kn, &wk, c)) > 0;) {
        for (uint32_t s = 0; s < k; s++) {
            if (kn->it[c[s]].stamp == g)
                continue;
            kn->it[c[s]].stamp = g;
            if (len > 0 && len % NODE_ITEMS == 0)
                w = node_at(kn, w)->next;
            node_at(kn, w)->item[len % NODE_ITEMS] = c[s];
            len++;
        }
    }
    list_restore(kn, r, w, len);
}

static void maybe_compact(pal__kn_t *kn, int32_t r)
{
    if (kn->it[r].parent == r &&
        kn->it[r].len > 2 * (uint32_t)kn->it[r].deg + COMPACT_SLACK)
        compact(kn, r);
}

/* ---- Transactions -------------------------------------------------------- */

void pal__kn_begin(pal__kn_t *kn)
{
    kn->tx = true;
    kn->saved = kn->c;
    kn->tx_merges = 0;
    kn->nundo = 0;
    kn->nadded = 0;
}

/* Everything an answer may need, so that applying it cannot fail. */
static int reserve(pal__kn_t *kn, uint32_t nodes, uint64_t keys,
                   int64_t heavy)
{
    int rc;

    rc = grow(&kn->alloc, (void **)&kn->log, sizeof *kn->log,
              kn->c.answers, &kn->log_cap, kn->c.answers + 1);
    if (rc == PAL_OK)
        rc = grow(&kn->alloc, (void **)&kn->undo, sizeof *kn->undo,
                  kn->nundo, &kn->undo_cap, kn->nundo + 1);
    if (rc == PAL_OK && nodes > 0)
        rc = pool_reserve(kn, nodes);
    if (rc == PAL_OK && keys > 0)
        rc = key_reserve(kn, keys);
    if (rc == PAL_OK && keys > 0)
        rc = grow(&kn->alloc, (void **)&kn->added, sizeof *kn->added,
                  kn->nadded, &kn->added_cap,
                  kn->nadded + (int64_t)keys);
    if (rc == PAL_OK && heavy > 0)
        rc = grow(&kn->alloc, (void **)&kn->hv, sizeof *kn->hv, kn->nheavy,
                  &kn->heavy_cap, kn->nheavy + heavy);
    return rc;
}

static void keys_pop(pal__kn_t *kn, int64_t to)
{
    while (kn->nadded > to)
        key_delete(kn, kn->added[--kn->nadded]);
}

static void undo_link(pal__kn_t *kn, const undo_t *u)
{
    int32_t x = u->a, y = u->b;

    if (u->born_b)
        heavy_pop(kn, y);
    if (u->born_a)
        heavy_pop(kn, x);

    list_restore(kn, y, u->tail_b, u->len_b);
    list_restore(kn, x, u->tail_a, u->len_a);

    if (kn->it[y].heavy)
        *heavy_sum(kn, y) -= kn->it[x].size;
    if (kn->it[x].heavy)
        *heavy_sum(kn, x) -= kn->it[y].size;
    kn->it[x].deg--;
    kn->it[y].deg--;
    keys_pop(kn, u->added0);
}

static void undo_merge(pal__kn_t *kn, const undo_t *u)
{
    int32_t a = u->a, b = u->b, t, c[NODE_ITEMS];
    uint32_t g;
    walk_t wk;

    if (u->born_a)
        heavy_pop(kn, a);
    else if (kn->it[a].heavy)
        *heavy_sum(kn, a) = u->apart_a;
    if (u->heavy_pos_b >= 0)
        heavy_unremove(kn, b, u->heavy_pos_b, u->apart_b);

    t = kn->it[a].next;
    kn->it[a].next = kn->it[b].next;
    kn->it[b].next = t;
    kn->it[a].size -= kn->it[b].size;
    kn->it[b].parent = b;
    list_restore(kn, a, u->tail_a, u->len_a);
    kn->it[a].deg = u->deg_a;
    keys_pop(kn, u->added0);

    /* With the table as before the merge, the pushes and degree changes
     * can be found and reversed exactly as they were made; b's list was
     * kept whole for this. */
    g = new_gens(kn, 2);
    wk = walk_start(kn, b);
    for (uint32_t k; (k = walk_next(kn, &wk, c)) > 0;) {
        for (uint32_t s = 0; s < k; s++) {
            item_t *x = &kn->it[c[s]];

            if (x->stamp == g)
                continue;
            x->stamp = g;
            if (pal__kn_apart(kn, a, c[s]))
                x->deg++;
            else if (x->heavy)
                *heavy_sum(kn, c[s]) -= kn->it[a].size;
        }
    }
    push_side(kn, a, g, g + 1, -(int64_t)kn->it[b].size);
}

void pal__kn_rollback(pal__kn_t *kn)
{
    while (kn->nundo > 0) {
        const undo_t *u = &kn->undo[--kn->nundo];

        if (u->kind == UNDO_LINK)
            undo_link(kn, u);
        else
            undo_merge(kn, u);
    }
    kn->c = kn->saved;
    kn->tx = false;
    kn->tx_merges = 0;
    kn->nadded = 0;
}

void pal__kn_commit(pal__kn_t *kn)
{
    int64_t live = kn->c.different_pairs;

    kn->tx = false;
    kn->tx_merges = 0;

    /* Maintenance that a rollback could not undo waits for this point:
     * the lists of absorbed components go back to the pool, long lists
     * are compacted. */
    for (int64_t k = 0; k < kn->nundo; k++) {
        if (kn->undo[k].kind == UNDO_MERGE)
            list_free(kn, kn->undo[k].b);
    }
    for (int64_t k = 0; k < kn->nundo; k++) {
        maybe_compact(kn, kn->undo[k].a);
        if (kn->undo[k].kind == UNDO_LINK)
            maybe_compact(kn, kn->undo[k].b);
    }
    kn->nundo = 0;
    kn->nadded = 0;
    if ((int64_t)kn->key_count - live > live + PURGE_SLACK)
        key_purge(kn);
}

/* ---- Answers ------------------------------------------------------------- */

/* Offer every pair (x, y) with x in component a and y in component b. */
static int emit_cross(const pal__kn_t *kn, int32_t a, int32_t b, int same,
                      pal__kn_emit_fn emit, void *ctx)
{
    int32_t x = a;

    do {
        int32_t y = b;

        do {
            int rc = emit(ctx, x < y ? x : y, x < y ? y : x, same);

            if (rc != PAL_OK)
                return rc;
            y = kn->it[y].next;
        } while (y != b);
        x = kn->it[x].next;
    } while (x != a);
    return PAL_OK;
}

/* Offer the pairs of b's items with the components apart from a but not
 * from b: what merging a and b teaches about b. */
static int emit_side(pal__kn_t *kn, int32_t a, int32_t b,
                     pal__kn_emit_fn emit, void *ctx)
{
    uint32_t g = new_gen(kn);
    int32_t c[NODE_ITEMS];
    walk_t wk = walk_start(kn, a);

    for (uint32_t k; (k = walk_next(kn, &wk, c)) > 0;) {
        for (uint32_t s = 0; s < k; s++) {
            int rc;

            if (kn->it[c[s]].stamp == g)
                continue;
            kn->it[c[s]].stamp = g;
            if (pal__kn_apart(kn, b, c[s]))
                continue;
            rc = emit_cross(kn, b, c[s], 0, emit, ctx);
            if (rc != PAL_OK)
                return rc;
        }
    }
    return PAL_OK;
}

/* Record that the components x and y, not yet related, are different. */
static int link_apart(pal__kn_t *kn, int32_t x, int32_t y,
                      pal__kn_emit_fn emit, void *ctx)
{
    undo_t *u;

    if (kn->tx) {
        int rc = reserve(kn, 2, 1, 2);

        if (rc == PAL_OK && emit)
            rc = emit_cross(kn, x, y, 0, emit, ctx);
        if (rc != PAL_OK)
            return rc;
        u = &kn->undo[kn->nundo++];
    } else {
        u = &kn->scratch_undo;
    }
    memset(u, 0, sizeof *u);
    u->kind = UNDO_LINK;
    u->a = x;
    u->b = y;
    u->tail_a = kn->it[x].tail;
    u->len_a = kn->it[x].len;
    u->tail_b = kn->it[y].tail;
    u->len_b = kn->it[y].len;
    u->heavy_pos_b = -1;
    u->added0 = kn->nadded;

    key_insert(kn, pair_key(x, y));
    kn->it[x].deg++;
    kn->it[y].deg++;
    kn->c.different_pairs++;
    kn->c.known_pairs += (int64_t)kn->it[x].size * kn->it[y].size;
    if (kn->it[x].heavy)
        *heavy_sum(kn, x) += kn->it[y].size;
    if (kn->it[y].heavy)
        *heavy_sum(kn, y) += kn->it[x].size;
    list_push(kn, x, y);
    list_push(kn, y, x);
    u->born_a = maybe_heavy(kn, x);
    u->born_b = maybe_heavy(kn, y);
    return PAL_OK;
}

/*
 * Merge the components a and b, not known different. The count of known
 * pairs grows by na nb + nb (sa - inter) + na (sb - inter), with sa and
 * sb the items apart from a and from b and inter those apart from both.
 * a's list is walked first (unless a is heavy and the heavy set is
 * shorter), marking its components; b's list is then walked against
 * those marks: a component apart from b only gets a key and an entry on
 * a's side. Heavy components apart from one side only learn the other
 * side's items: those apart from a get nb as a's walk meets them, given
 * back when b's walk finds them apart from b too.
 */
static int merge(pal__kn_t *kn, int32_t a, int32_t b, pal__kn_emit_fn emit,
                 void *ctx)
{
    int64_t sa = 0, sb = 0, inter = 0, common = 0, na, nb;
    uint32_t ga, gab, gb, nx;
    int32_t c[NODE_ITEMS];
    bool walk_a;
    undo_t *u;

    /* The larger component survives: union by size. */
    if (kn->it[a].size < kn->it[b].size) {
        int32_t t = a;

        a = b;
        b = t;
    }
    na = kn->it[a].size;
    nb = kn->it[b].size;

    /* At most one new key and one new entry per entry of b's list. */
    if (kn->tx) {
        int rc = reserve(kn, kn->it[b].len / NODE_ITEMS + 1, kn->it[b].len,
                         1);

        if (rc == PAL_OK && emit) {
            rc = emit_cross(kn, a, b, 1, emit, ctx);
            if (rc == PAL_OK)
                rc = emit_side(kn, a, b, emit, ctx);
            if (rc == PAL_OK)
                rc = emit_side(kn, b, a, emit, ctx);
        }
        if (rc != PAL_OK)
            return rc;
        u = &kn->undo[kn->nundo++];
    } else {
        u = &kn->scratch_undo;
    }
    memset(u, 0, sizeof *u);
    u->kind = UNDO_MERGE;
    u->a = a;
    u->b = b;
    u->tail_a = kn->it[a].tail;
    u->len_a = kn->it[a].len;
    u->deg_a = kn->it[a].deg;
    u->heavy_pos_b = kn->it[b].heavy - 1;
    u->apart_a = kn->it[a].heavy ? *heavy_sum(kn, a) : 0;
    u->apart_b = kn->it[b].heavy ? *heavy_sum(kn, b) : 0;
    u->added0 = kn->nadded;

    /* Marks: apart from a only, from both, from b only. */
    ga = new_gens(kn, 3);
    gab = ga + 1;
    gb = ga + 2;
    walk_a = !(kn->it[a].heavy && kn->nheavy <= (int64_t)kn->it[a].len);
    if (walk_a) {
        walk_t wk = walk_start(kn, a);

        for (uint32_t k; (k = walk_next(kn, &wk, c)) > 0;) {
            for (uint32_t s = 0; s < k; s++) {
                item_t *x = &kn->it[c[s]];

                if (x->stamp == ga)
                    continue;
                x->stamp = ga;
                sa += x->size;
                if (x->heavy)
                    *heavy_sum(kn, c[s]) += nb;
            }
        }
    }
    if (kn->it[a].heavy)
        sa = *heavy_sum(kn, a);

    /* Outside transactions b's nodes go back to the pool as they are
     * read, so that the entries moved to a need no new memory. */
    for (uint32_t v = FIRST_NODE | (uint32_t)b, left = kn->it[b].len, k;
         left > 0; v = nx, left -= k) {
        k = node_fill(left);
        nx = node_at(kn, v)->next;
        node_roots(kn, v, k, c);
        if (!kn->tx)
            pool_give(kn, v);
        /* The keys this node may add or look up, requested together. */
        for (uint32_t s = 0; s < k; s++)
            __builtin_prefetch(&kn->keys[key_home(pair_key(a, c[s]),
                                                  kn->key_bits)]);
        for (uint32_t s = 0; s < k; s++) {
            item_t *x = &kn->it[c[s]];

            if (x->stamp == gb || x->stamp == gab)
                continue;
            sb += x->size;
            if (walk_a ? x->stamp == ga : pal__kn_apart(kn, a, c[s])) {
                x->stamp = gab;
                inter += x->size;
                common++;
                x->deg--;
                if (walk_a && x->heavy)
                    *heavy_sum(kn, c[s]) -= nb;
            } else {
                x->stamp = gb;
                key_insert(kn, pair_key(a, c[s]));
                list_push(kn, a, c[s]);
                if (x->heavy)
                    *heavy_sum(kn, c[s]) += na;
            }
        }
    }
    if (!kn->tx) {
        kn->it[b].first.next = NIL;
        kn->it[b].tail = FIRST_NODE | (uint32_t)b;
        kn->it[b].len = 0;
    }
    if (!walk_a) {
        for (int64_t h = 0; h < kn->nheavy; h++) {
            int32_t r = kn->hv[h].root;
            uint32_t st = kn->it[r].stamp;

            if (st != gb && st != gab && pal__kn_apart(kn, a, r))
                kn->hv[h].apart += nb;
        }
    }

    kn->c.known_pairs += na * nb + nb * (sa - inter) + na * (sb - inter);
    kn->c.different_pairs -= common;
    kn->c.components--;
    kn->it[a].deg += kn->it[b].deg - (int32_t)common;
    {
        int32_t t = kn->it[a].next;

        kn->it[a].next = kn->it[b].next;
        kn->it[b].next = t;
    }
    kn->it[b].parent = a;
    kn->it[a].size += kn->it[b].size;

    if (kn->it[b].heavy)
        heavy_remove(kn, b);
    if (kn->it[a].heavy) {
        *heavy_sum(kn, a) = sa + sb - inter;
    } else if (u->heavy_pos_b >= 0 ||
               kn->it[a].deg >= PAL__KN_HEAVY_DEGREE) {
        heavy_push(kn, a, sa + sb - inter);
        u->born_a = true;
    }
    kn->tx_merges += kn->tx;
    return PAL_OK;
}

int pal__kn_answer(pal__kn_t *kn, int32_t i, int32_t j, int answer,
                   pal__kn_emit_fn emit, void *ctx, int *effect)
{
    int32_t a = pal__kn_find_mut(kn, i), b = pal__kn_find_mut(kn, j);
    int eff, rc;

    if (answer == PAL__KN_UNSURE)
        eff = PAL__KN_IGNORED;
    else if (a == b)
        eff = answer == PAL__KN_SAME ? PAL__KN_KNOWN : PAL__KN_CONFLICT;
    else if (pal__kn_apart(kn, a, b))
        eff = answer == PAL__KN_DIFFERENT ? PAL__KN_KNOWN
                                          : PAL__KN_CONFLICT;
    else
        eff = PAL__KN_NEW;

    if (eff == PAL__KN_NEW)
        rc = answer == PAL__KN_SAME ? merge(kn, a, b, emit, ctx)
                                    : link_apart(kn, a, b, emit, ctx);
    else
        rc = grow(&kn->alloc, (void **)&kn->log, sizeof *kn->log,
                  kn->c.answers, &kn->log_cap, kn->c.answers + 1);
    if (rc != PAL_OK)
        return rc;

    /* Items fit in 31 bits, so an entry packs into one word. */
    kn->log[kn->c.answers++] =
        (uint64_t)i << 33 | (uint64_t)j << 2 | (uint64_t)answer;
    kn->c.same += answer == PAL__KN_SAME;
    kn->c.different += answer == PAL__KN_DIFFERENT;
    kn->c.unsure += answer == PAL__KN_UNSURE;
    kn->c.conflicts += eff == PAL__KN_CONFLICT;
    kn->c.redundant += eff == PAL__KN_KNOWN;
    *effect = eff;
    return PAL_OK;
}

/* ---- Answers outside transactions ----------------------------------------
 *
 * A batch reserves, before it changes anything, all the memory its answers
 * may need, so that recording them cannot fail and needs no undo log:
 * the log's entries; two list nodes per "different" answer and one per
 * "same" answer (a merge gives the absorbed list's nodes back as it reads
 * them, and needs at most one more for the survivor's list); two slots in
 * the heavy set per answer (at most one per component); and key room for
 * twice the component pairs that can be apart by its end. A merge moves at most one key per
 * component apart from the absorbed side, and stale keys are purged in
 * place whenever the next answer could overflow that room: afterwards the
 * table holds the live keys only, at most half the room.
 */

/* Keys the table takes before its load passes 70%. */
static uint64_t key_room(const pal__kn_t *kn)
{
    return kn->key_cap / 10 * 7 + kn->key_cap % 10 * 7 / 10;
}

int pal__kn_batch_reserve(pal__kn_t *kn, int64_t count, int64_t different)
{
    uint64_t live = (uint64_t)kn->c.different_pairs + (uint64_t)different;
    int64_t heavy = (int64_t)kn->n - kn->nheavy;
    int rc;

    if (count > INT64_MAX - kn->c.answers ||
        (uint64_t)count + (uint64_t)different >= (uint64_t)FIRST_NODE)
        return PAL_E_NOMEM;
    /* A link makes at most two components heavy, a merge one. */
    if (heavy > 2 * count)
        heavy = 2 * count;
    rc = grow(&kn->alloc, (void **)&kn->log, sizeof *kn->log,
              kn->c.answers, &kn->log_cap, kn->c.answers + count);
    if (rc == PAL_OK && count > 0)
        rc = pool_reserve(kn, (uint32_t)(count + different));
    if (rc == PAL_OK && 2 * live + 1 > kn->key_count)
        rc = key_reserve(kn, 2 * live + 1 - kn->key_count);
    if (rc == PAL_OK && heavy > 0)
        rc = grow(&kn->alloc, (void **)&kn->hv, sizeof *kn->hv, kn->nheavy,
                  &kn->heavy_cap, kn->nheavy + heavy);
    return rc;
}

/*
 * The answers ahead of the current one are fetched from memory in stages,
 * each reading only what the stage before requested, so that the latency
 * of memory (a few hundred cycles per access) overlaps with the work of
 * other answers instead of adding up. FETCH_ITEMS answers ahead: the two
 * items' records; FETCH_PARENTS: their parents'; FETCH_ROOTS: the roots'
 * records (with the first nodes of their lists) and the key of the pair;
 * FETCH_ENTRIES (merges): the records the first nodes name, which a merge
 * walks, and the second nodes; FETCH_KEYS (merges): the keys the survivor
 * may get for the absorbed side's first node, and the records its own
 * second node names. Roots are guessed from two steps up the forest; a
 * guess that later answers make wrong only wastes a fetch.
 */
/* GCC takes a function that only reads and prefetches for a pure one,
 * and drops the calls whose result is unused: the fetches must be
 * inlined. */
#define FETCH_INLINE static inline __attribute__((always_inline))

#define FETCH_ITEMS 16
#define FETCH_PARENTS 12
#define FETCH_ROOTS 6
#define FETCH_ENTRIES 3
#define FETCH_KEYS 1

FETCH_INLINE int32_t guess_root(const pal__kn_t *kn, int32_t i)
{
    int32_t p = kn->it[i].parent;

    return p == i ? i : kn->it[p].parent;
}

FETCH_INLINE void fetch_parent(const pal__kn_t *kn, int32_t i)
{
    __builtin_prefetch(&kn->it[kn->it[i].parent]);
}

FETCH_INLINE void fetch_roots(const pal__kn_t *kn, int32_t i, int32_t j,
                              int answer)
{
    int32_t a = guess_root(kn, i), b = guess_root(kn, j);

    __builtin_prefetch(&kn->it[a]);
    __builtin_prefetch(&kn->it[b]);
    /* A merge of a component with no cannot-link needs no key. */
    if (a != b && (answer == PAL__KN_DIFFERENT ||
                   (kn->it[a].len > 0 && kn->it[b].len > 0)))
        __builtin_prefetch(&kn->keys[key_home(pair_key(a, b),
                                              kn->key_bits)]);
}

FETCH_INLINE void fetch_entries(const pal__kn_t *kn, int32_t i)
{
    const item_t *r = &kn->it[guess_root(kn, i)];
    uint32_t k = node_fill(r->len);

    if (r->first.next != NIL)
        __builtin_prefetch(&kn->pool[r->first.next]);
    for (uint32_t s = 0; s < k; s++)
        __builtin_prefetch(&kn->it[r->first.item[s]]);
}

FETCH_INLINE void fetch_keys(const pal__kn_t *kn, int32_t i, int32_t j)
{
    int32_t a = guess_root(kn, i), b = guess_root(kn, j);
    const item_t *r;
    uint32_t k;

    if (kn->it[a].size < kn->it[b].size) {
        int32_t t = a;

        a = b;
        b = t;
    }
    if (a == b)
        return;
    r = &kn->it[a];
    if (r->first.next != NIL) {
        const node_t *nd = &kn->pool[r->first.next];

        k = node_fill(r->len - NODE_ITEMS);
        for (uint32_t s = 0; s < k; s++)
            __builtin_prefetch(&kn->it[nd->item[s]]);
    }
    r = &kn->it[b];
    k = node_fill(r->len);
    for (uint32_t s = 0; s < k; s++)
        __builtin_prefetch(&kn->keys[key_home(
            pair_key(a, guess_root(kn, r->first.item[s])), kn->key_bits)]);
}

void pal__kn_answer_batch(pal__kn_t *kn, int64_t count, const int64_t *i,
                          const int64_t *j, const pal_answer_t *answers,
                          int *effects)
{
    for (int64_t k = 0; k < count; k++) {
        int32_t x = (int32_t)i[k], y = (int32_t)j[k], a, b;
        int answer = (int)answers[k], eff;

        /* Unsure answers need nothing; only merges walk lists. */
        if (k + FETCH_ITEMS < count &&
            answers[k + FETCH_ITEMS] != PAL_ANSWER_UNSURE) {
            __builtin_prefetch(&kn->it[i[k + FETCH_ITEMS]]);
            __builtin_prefetch(&kn->it[j[k + FETCH_ITEMS]]);
        }
        if (k + FETCH_PARENTS < count &&
            answers[k + FETCH_PARENTS] != PAL_ANSWER_UNSURE) {
            fetch_parent(kn, (int32_t)i[k + FETCH_PARENTS]);
            fetch_parent(kn, (int32_t)j[k + FETCH_PARENTS]);
        }
        if (k + FETCH_ROOTS < count &&
            answers[k + FETCH_ROOTS] != PAL_ANSWER_UNSURE)
            fetch_roots(kn, (int32_t)i[k + FETCH_ROOTS],
                        (int32_t)j[k + FETCH_ROOTS],
                        (int)answers[k + FETCH_ROOTS]);
        if (k + FETCH_ENTRIES < count &&
            answers[k + FETCH_ENTRIES] == PAL_ANSWER_SAME) {
            fetch_entries(kn, (int32_t)i[k + FETCH_ENTRIES]);
            fetch_entries(kn, (int32_t)j[k + FETCH_ENTRIES]);
        }
        if (k + FETCH_KEYS < count &&
            answers[k + FETCH_KEYS] == PAL_ANSWER_SAME)
            fetch_keys(kn, (int32_t)i[k + FETCH_KEYS],
                       (int32_t)j[k + FETCH_KEYS]);

        a = pal__kn_find_mut(kn, x);
        b = pal__kn_find_mut(kn, y);
        if (answer == PAL__KN_UNSURE)
            eff = PAL__KN_IGNORED;
        else if (a == b)
            eff = answer == PAL__KN_SAME ? PAL__KN_KNOWN : PAL__KN_CONFLICT;
        else if (kn->it[a].deg > 0 && kn->it[b].deg > 0 &&
                 pal__kn_apart(kn, a, b))
            eff = answer == PAL__KN_DIFFERENT ? PAL__KN_KNOWN
                                              : PAL__KN_CONFLICT;
        else
            eff = PAL__KN_NEW;

        if (eff == PAL__KN_NEW && answer == PAL__KN_SAME) {
            int32_t small = kn->it[a].size < kn->it[b].size ? a : b;

            if (kn->key_count + (uint64_t)kn->it[small].deg > key_room(kn))
                key_purge(kn);
            merge(kn, a, b, NULL, NULL);
            maybe_compact(kn, kn->it[a].parent == a ? a : b);
        } else if (eff == PAL__KN_NEW) {
            if (kn->key_count + 1 > key_room(kn))
                key_purge(kn);
            link_apart(kn, a, b, NULL, NULL);
            maybe_compact(kn, a);
            maybe_compact(kn, b);
        }

        kn->log[kn->c.answers++] =
            (uint64_t)x << 33 | (uint64_t)y << 2 | (uint64_t)answer;
        kn->c.same += answer == PAL__KN_SAME;
        kn->c.different += answer == PAL__KN_DIFFERENT;
        kn->c.unsure += answer == PAL__KN_UNSURE;
        kn->c.conflicts += eff == PAL__KN_CONFLICT;
        kn->c.redundant += eff == PAL__KN_KNOWN;
        if (effects)
            effects[k] = eff;
    }
    if ((int64_t)kn->key_count - kn->c.different_pairs >
        kn->c.different_pairs + PURGE_SLACK)
        key_purge(kn);
}

/* ---- Queries ------------------------------------------------------------- */

int pal__kn_relation(const pal__kn_t *kn, int32_t i, int32_t j)
{
    int32_t a = pal__kn_find(kn, i), b = pal__kn_find(kn, j);

    if (a == b)
        return PAL__KN_REL_SAME;
    return pal__kn_apart(kn, a, b) ? PAL__KN_REL_DIFFERENT
                                   : PAL__KN_REL_UNKNOWN;
}

void pal__kn_log_entry(const pal__kn_t *kn, int64_t k, int32_t *i,
                       int32_t *j, int *answer)
{
    uint64_t w = kn->log[k];

    *i = (int32_t)(w >> 33);
    *j = (int32_t)((w >> 2) & 0x7fffffffu);
    *answer = (int)(w & 3u);
}

int64_t pal__kn_labels(const pal__kn_t *kn, bool singletons_unknown,
                       int32_t *labels)
{
    int64_t nc = 0;

    /* labels doubles as the map from roots to classes, so that a const
     * store needs no scratch memory. Before item i is reached, labels[i]
     * is -1, or -2 - c when i is the root of class c whose smallest
     * member came first; once reached it holds i's final label, which is
     * where later members of a root already passed look it up. */
    for (int32_t i = 0; i < kn->n; i++)
        labels[i] = -1;
    for (int32_t i = 0; i < kn->n; i++) {
        int32_t r = pal__kn_find(kn, i);
        int32_t v;

        if (singletons_unknown && kn->it[r].size == 1) {
            labels[i] = -1;
            continue;
        }
        if (r < i) {
            labels[i] = labels[r];
            continue;
        }
        v = labels[r];
        if (v == -1) {
            v = (int32_t)nc++;
            if (r != i)
                labels[r] = -2 - v;
        } else {
            v = -2 - v;
        }
        labels[i] = v;
    }
    return nc;
}

void pal__kn_apart_pairs(const pal__kn_t *kn, int32_t *a, int32_t *b)
{
    int64_t p = 0;

    for (uint64_t s = 0; s < kn->key_cap; s++) {
        uint64_t key = kn->keys[s];

        if (key == EMPTY_KEY || key_stale(kn, key))
            continue;
        a[p] = (int32_t)(key >> 32);
        b[p] = (int32_t)(uint32_t)key;
        p++;
    }
}
