/* The compiled call fast path of optlevel.Optimized (optional; pure Python serves
 * where this is not built: optlevel/api.py, Optimized._python_call).
 *
 * It does what Optimized._python_call does on its common path, in C: build the
 * argument key (the items optlevel.analysis.signature_key builds), look the plan
 * up, call plan.fn, count (and time the first 8 calls, then one in 8, calling
 * plan.watch after a timed call where the plan has one). Anything
 * else -- keyword arguments, a plan not built yet, settings or a context level that
 * changed, an error the plan declared -- goes to the Python methods that handle it
 * today (_python_call, _plan_miss, _refresh, _recover), so there is one meaning
 * and this file only makes the common case cheaper.
 *
 * One thing is cached across calls beyond what the Python path caches: each
 * instance remembers its last positional call (an inline cache). For up to
 * IC_ARGS arguments, each an exact ndarray whose head is read or a type of
 * SCALAR_TYPES, it keeps the raw items of the key (the dtype object, rank, masked
 * flags and size-class index of each array; the type of each scalar), the settings
 * generation and context level objects the key was built under, the key itself,
 * its plan, and the count of changes to the plans dict at that moment (its Tally,
 * which core.plan.PlanTable bumps with every change). A call whose items,
 * generation and context level are the same objects and numbers, while the plans
 * dict has not changed, builds no key and runs the cached plan. The cache holds
 * references to every object it compares by identity, so none can be freed and
 * its address reused. Anything else builds the key as the Python path does and
 * refills the cache.
 *
 * A Plan's calls, fn, time and watch and STATE's generation are read and written at
 * their __slots__ offsets (found from the classes' member descriptors at
 * configure()), where the object is of that exact class; getattr serves otherwise.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* what configure() hands over: optlevel's own objects, read on every call */
static PyObject *ndarray_type, *scalar_types, *size_class, *other_key, *state,
                *context_level, *perf_counter, *retyped_type;
static long flag_mask;

static PyObject *s_head, *s_refresh, *s_plan_miss, *s_recover,
                *s_python_call, *s_calls, *s_fn, *s_catch, *s_time, *s_generation,
                *s_dtype, *s_ndim, *s_flags, *s_num, *s_size, *s_targets, *s_watch;

static int
bit_length(Py_ssize_t v)
{
    int n = 0;
    while (v > 0) {
        n++;
        v >>= 1;
    }
    return n;
}

/* Slots read and written at their offsets: a Plan's calls, fn, time and watch, and
 * STATE's generation. configure() finds each offset from the class's member
 * descriptor (a __slots__ entry holding an object); an object of another type, or
 * an empty slot, goes through getattr/setattr, which say what is wrong. */
typedef struct {
    PyTypeObject *type;  /* the exact type the offset belongs to, or NULL */
    Py_ssize_t offset;
    PyObject *name;
} Slot;

static Slot slot_calls, slot_fn, slot_time, slot_watch, slot_generation;

/* obj.name (a new reference, or NULL with an error) */
static PyObject *
slot_get(PyObject *obj, Slot *slot)
{
    if (Py_TYPE(obj) == slot->type) {
        PyObject *value = *(PyObject **)((char *)obj + slot->offset);
        if (value != NULL) {
            Py_INCREF(value);
            return value;
        }
    }
    return PyObject_GetAttr(obj, slot->name);
}

/* obj.name = value (0, or -1 with an error) */
static int
slot_set(PyObject *obj, Slot *slot, PyObject *value)
{
    if (Py_TYPE(obj) == slot->type) {
        PyObject **where = (PyObject **)((char *)obj + slot->offset);
        Py_INCREF(value);
        Py_XSETREF(*where, value);
        return 0;
    }
    return PyObject_SetAttr(obj, slot->name, value);
}

/* Find name's slot in type (a member descriptor of an object slot); where there is
 * none the slot stays on getattr/setattr (type NULL). */
static int
find_slot(Slot *slot, PyObject *type, PyObject *name)
{
    PyObject *descr;
    slot->type = NULL;
    Py_INCREF(name);
    Py_XSETREF(slot->name, name);
    descr = PyObject_GetAttr(type, name);
    if (descr == NULL) return -1;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type == T_OBJECT_EX && !(member->flags & READONLY)) {
            slot->type = (PyTypeObject *)type;
            slot->offset = member->offset;
        }
    }
    Py_DECREF(descr);
    return 0;
}

/* The head of NumPy's array object (PyArrayObject_fields in ndarraytypes.h, the
 * same from NumPy 1.7 through 2.x). Read only where configure() found it to agree
 * with the attributes on probe arrays; the attributes serve otherwise. */
typedef struct {
    PyObject_HEAD
    char *data;
    int nd;
    Py_ssize_t *dimensions;
    Py_ssize_t *strides;
    PyObject *base;
    PyObject *descr;
    int flags;
} ArrayHead;

static int read_heads;  /* the layout above agreed with every probe */

/* The inline cache: one argument's raw key items (see the comment at the top). */
#define IC_ARGS 6
typedef struct {
    PyObject *type;   /* its type (a strong reference) */
    PyObject *descr;  /* an array's dtype object (a strong reference), else NULL */
    int nd, flags, size_class;
} CachedArg;

/* A count of the changes to one plans dict (core.plan.PlanTable bumps it with each):
 * an inline cache filled at the same count finds the same plan under its key. */
typedef struct {
    PyObject_HEAD
    unsigned long long n;
} TallyObject;

typedef struct {
    PyObject_HEAD
    PyObject *plans;   /* the plans dict (_bind), read as _plans */
    TallyObject *tally;  /* its changes (_bind) */
    /* the inline cache */
    Py_ssize_t nargs;  /* -1: nothing cached */
    long epoch;        /* config_epoch when it was filled */
    unsigned long long changes;  /* tally->n when it was filled */
    PyObject *generation, *context, *key, *plan;
    CachedArg arg[IC_ARGS];
} CallObject;

static Py_ssize_t cache_hits;  /* calls served by the inline cache (read by tests) */

static PyObject *
head_item(PyObject *a)
{
    ArrayHead *h = (ArrayHead *)a;
    Py_ssize_t size = 1;
    PyObject *ndim, *masked, *item;
    int i;
    for (i = 0; i < h->nd; i++) {
        size *= h->dimensions[i];
    }
    ndim = PyLong_FromLong(h->nd);
    masked = PyLong_FromLong(h->flags & flag_mask);
    if (ndim == NULL || masked == NULL) {
        Py_XDECREF(ndim);
        Py_XDECREF(masked);
        return NULL;
    }
    item = PyTuple_Pack(4, h->descr, ndim, masked,
                        PyTuple_GET_ITEM(size_class, bit_length(size)));
    Py_DECREF(ndim);
    Py_DECREF(masked);
    return item;
}

/* (a.dtype, a.ndim, a.flags.num & FLAG_MASK, SIZE_CLASS[a.size.bit_length()]) */
static PyObject *
attribute_item(PyObject *a)
{
    PyObject *dtype = NULL, *ndim = NULL, *flags = NULL, *num = NULL, *size = NULL;
    PyObject *masked = NULL, *item = NULL;
    Py_ssize_t n;
    long bits;

    dtype = PyObject_GetAttr(a, s_dtype);
    if (dtype == NULL) goto done;
    ndim = PyObject_GetAttr(a, s_ndim);
    if (ndim == NULL) goto done;
    flags = PyObject_GetAttr(a, s_flags);
    if (flags == NULL) goto done;
    num = PyObject_GetAttr(flags, s_num);
    if (num == NULL) goto done;
    bits = PyLong_AsLong(num);
    if (bits == -1 && PyErr_Occurred()) goto done;
    masked = PyLong_FromLong(bits & flag_mask);
    if (masked == NULL) goto done;
    size = PyObject_GetAttr(a, s_size);
    if (size == NULL) goto done;
    n = PyLong_AsSsize_t(size);
    if (n == -1 && PyErr_Occurred()) goto done;
    n = bit_length(n);
    if (n >= PyTuple_GET_SIZE(size_class)) {
        PyErr_SetString(PyExc_OverflowError, "optlevel: array size beyond its classes");
        goto done;
    }
    item = PyTuple_Pack(4, dtype, ndim, masked, PyTuple_GET_ITEM(size_class, n));
done:
    Py_XDECREF(dtype);
    Py_XDECREF(ndim);
    Py_XDECREF(flags);
    Py_XDECREF(num);
    Py_XDECREF(masked);
    Py_XDECREF(size);
    return item;
}

static PyObject *
signature_of(PyObject *args)
{
    Py_ssize_t i, n = PyTuple_GET_SIZE(args);
    PyObject *sig = PyTuple_New(n);
    if (sig == NULL) return NULL;
    for (i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        PyObject *t = (PyObject *)Py_TYPE(a);
        PyObject *item;
        if (t == ndarray_type) {
            item = read_heads ? head_item(a) : attribute_item(a);
        }
        else {
            int known = PySet_Contains(scalar_types, t);
            if (known < 0) {
                item = NULL;
            }
            else if (known) {
                Py_INCREF(t);
                item = t;
            }
            else {
                item = PyObject_CallFunctionObjArgs(other_key, a, t, NULL);
            }
        }
        if (item == NULL) {
            Py_DECREF(sig);
            return NULL;
        }
        PyTuple_SET_ITEM(sig, i, item);
    }
    return sig;
}

/* (generation, context level, ceiling, mode), as _head and _refresh() give it;
 * anything else is optlevel's bug, said as one (a new reference, or NULL) */
static PyObject *
checked_head(PyObject *head)
{
    if (head != NULL && (!PyTuple_Check(head) || PyTuple_GET_SIZE(head) != 4)) {
        PyErr_SetString(PyExc_TypeError, "optlevel: _head is not a 4-tuple");
        Py_CLEAR(head);
    }
    return head;
}

/* head, refreshed where the settings generation or the context level changed;
 * *generation and *context get the objects it was checked against (new references,
 * for the inline cache) */
static PyObject *
current_head(PyObject *self, PyObject **generation, PyObject **context)
{
    PyObject *head;
    int stale;

    *generation = *context = NULL;
    head = checked_head(PyObject_GetAttr(self, s_head));
    if (head == NULL) return NULL;
    if (PyContextVar_Get(context_level, NULL, context) < 0) goto fail;
    *generation = slot_get(state, &slot_generation);
    if (*generation == NULL) goto fail;
    stale = PyObject_RichCompareBool(PyTuple_GET_ITEM(head, 0), *generation, Py_NE);
    if (stale == 0) {
        stale = PyObject_RichCompareBool(PyTuple_GET_ITEM(head, 1), *context, Py_NE);
    }
    if (stale < 0) goto fail;
    if (stale) {
        Py_SETREF(head, checked_head(PyObject_CallMethodOneArg(self, s_refresh, *context)));
        if (head == NULL) goto fail;
    }
    return head;
fail:
    Py_CLEAR(*generation);
    Py_CLEAR(*context);
    Py_XDECREF(head);
    return NULL;
}

/* --- the inline cache ---------------------------------------------------------- */

static long config_epoch;  /* configure() calls so far: a cache from before is stale */

static void
cache_forget(CallObject *self)
{
    Py_ssize_t i;
    for (i = 0; i < IC_ARGS; i++) {
        Py_CLEAR(self->arg[i].type);
        Py_CLEAR(self->arg[i].descr);
    }
    Py_CLEAR(self->generation);
    Py_CLEAR(self->context);
    Py_CLEAR(self->key);
    Py_CLEAR(self->plan);
    self->nargs = -1;
}

static int
array_size_class(ArrayHead *h)
{
    Py_ssize_t size = 1;
    int i;
    for (i = 0; i < h->nd; i++) {
        size *= h->dimensions[i];
    }
    return bit_length(size);
}

/* Is the cached plan this call's: the same key items, the plans dict unchanged, the
 * same generation and context level? 1 or 0, or -1 with an error. */
static int
cache_current(CallObject *self, PyObject *args)
{
    Py_ssize_t i, n = PyTuple_GET_SIZE(args);
    PyObject *context = NULL, *generation;
    int same;

    if (n != self->nargs || self->epoch != config_epoch || self->tally->n != self->changes) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        CachedArg *c = &self->arg[i];
        ArrayHead *h;
        if ((PyObject *)Py_TYPE(a) != c->type) return 0;
        if (c->descr == NULL) continue;  /* a scalar of SCALAR_TYPES: its type is its item */
        h = (ArrayHead *)a;
        if (h->descr != c->descr || h->nd != c->nd || (h->flags & flag_mask) != c->flags
                || array_size_class(h) != c->size_class) {
            return 0;
        }
    }
    if (PyContextVar_Get(context_level, NULL, &context) < 0) return -1;
    generation = slot_get(state, &slot_generation);
    if (generation == NULL) {
        Py_DECREF(context);
        return -1;
    }
    same = generation == self->generation && context == self->context;
    Py_DECREF(generation);
    Py_DECREF(context);
    return same;
}

/* Remember this call's key and plan where every argument's item can be compared raw
 * (else forget what was cached); errors are cleared: the cache is only a shortcut. */
static void
cache_fill(CallObject *self, PyObject *args, PyObject *generation, PyObject *context,
           PyObject *key, PyObject *plan, unsigned long long changes)
{
    Py_ssize_t i, n = PyTuple_GET_SIZE(args);
    cache_forget(self);
    if (n > IC_ARGS) return;
    for (i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i), *t = (PyObject *)Py_TYPE(a);
        CachedArg *c = &self->arg[i];
        if (t == ndarray_type && read_heads) {
            ArrayHead *h = (ArrayHead *)a;
            Py_INCREF(h->descr);
            c->descr = h->descr;
            c->nd = h->nd;
            c->flags = (int)(h->flags & flag_mask);
            c->size_class = array_size_class(h);
        }
        else if (t == ndarray_type || PySet_Contains(scalar_types, t) != 1) {
            PyErr_Clear();
            cache_forget(self);
            return;
        }
        Py_INCREF(t);
        c->type = t;
    }
    Py_INCREF(generation);
    self->generation = generation;
    Py_INCREF(context);
    self->context = context;
    Py_INCREF(key);
    self->key = key;
    Py_INCREF(plan);
    self->plan = plan;
    self->epoch = config_epoch;
    self->changes = changes;
    self->nargs = n;
}

/* the plan raised: one it declared goes to _recover, anything else is the user's */
static PyObject *
raised(PyObject *self, PyObject *plan, PyObject *key, PyObject *args)
{
    PyObject *catch, *type, *value, *tb, *result;
    int ours;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    catch = PyObject_GetAttr(plan, s_catch);
    if (catch == NULL) {  /* optlevel's bug: say so, with the user's error as context */
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return NULL;
    }
    ours = PyErr_GivenExceptionMatches(type, catch);
    Py_DECREF(catch);
    if (!ours) {
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    if (tb != NULL) PyException_SetTraceback(value, tb);
    result = PyObject_CallMethodObjArgs(self, s_recover, plan, key, value, args, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return result;
}

static int
add_to(PyObject *plan, Slot *slot, PyObject *amount)
{
    PyObject *now = slot_get(plan, slot), *sum;
    int rc;
    if (now == NULL) return -1;
    sum = PyNumber_Add(now, amount);
    Py_DECREF(now);
    if (sum == NULL) return -1;
    rc = slot_set(plan, slot, sum);
    Py_DECREF(sum);
    return rc;
}

/* obj.name, which must be a dict (a new reference; NULL with an error if not) */
static PyObject *
dict_attribute(PyObject *obj, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value != NULL && !PyDict_Check(value)) {
        PyErr_Format(PyExc_TypeError, "optlevel: %U is not a dict", name);
        Py_CLEAR(value);
    }
    return value;
}

/* fn(*args); a core.plan.Retyped runs here as its __call__ would: the wrapped
 * function, then its result's type mapped by ``targets`` (read at call time) */
static PyObject *
call_plan_fn(PyObject *fn, PyObject *args)
{
    PyObject *inner, *targets, *result, *target, *mapped;

    if ((PyObject *)Py_TYPE(fn) != retyped_type) return PyObject_Call(fn, args, NULL);
    inner = PyObject_GetAttr(fn, s_fn);
    if (inner == NULL) return NULL;
    result = PyObject_Call(inner, args, NULL);
    Py_DECREF(inner);
    if (result == NULL) return NULL;
    targets = dict_attribute(fn, s_targets);
    if (targets == NULL) {
        Py_DECREF(result);
        return NULL;
    }
    target = PyDict_GetItemWithError(targets, (PyObject *)Py_TYPE(result));
    if (target == NULL) {
        Py_DECREF(targets);
        if (PyErr_Occurred()) {
            Py_DECREF(result);
            return NULL;
        }
        return result;
    }
    Py_INCREF(target);
    Py_DECREF(targets);
    mapped = PyObject_CallOneArg(target, result);
    Py_DECREF(target);
    Py_DECREF(result);
    return mapped;
}

static PyObject *
seconds(void)
{
    return PyObject_CallNoArgs(perf_counter);
}

/* plan.watch(), where the plan has one (after a timed call) */
static int
watched(PyObject *plan)
{
    PyObject *watch = slot_get(plan, &slot_watch), *done;
    if (watch == NULL) return -1;
    if (watch == Py_None) {
        Py_DECREF(watch);
        return 0;
    }
    done = PyObject_CallNoArgs(watch);
    Py_DECREF(watch);
    if (done == NULL) return -1;
    Py_DECREF(done);
    return 0;
}

/* run plan.fn, count the call and, where it is timed, its time */
static PyObject *
run(PyObject *self, PyObject *plan, PyObject *key, PyObject *args)
{
    PyObject *calls_obj, *fn, *result, *start = NULL, *one;
    long calls;
    int timed;

    calls_obj = slot_get(plan, &slot_calls);
    if (calls_obj == NULL) return NULL;
    calls = PyLong_AsLong(calls_obj);
    Py_DECREF(calls_obj);
    if (calls == -1 && PyErr_Occurred()) return NULL;
    timed = !(calls > 7 && (calls & 7));
    fn = slot_get(plan, &slot_fn);
    if (fn == NULL) return NULL;
    if (timed && (start = seconds()) == NULL) {
        Py_DECREF(fn);
        return NULL;
    }
    result = call_plan_fn(fn, args);
    Py_DECREF(fn);
    if (result == NULL) {
        Py_XDECREF(start);
        return raised(self, plan, key, args);
    }
    if (timed) {
        PyObject *end = seconds(), *spent = NULL, *weighted = NULL;
        int rc = -1;
        if (end != NULL) spent = PyNumber_Subtract(end, start);
        if (spent != NULL) {
            PyObject *weight = PyLong_FromLong(calls > 7 ? 8 : 1);
            if (weight != NULL) weighted = PyNumber_Multiply(spent, weight);
            Py_XDECREF(weight);
        }
        if (weighted != NULL) rc = add_to(plan, &slot_time, weighted);
        Py_XDECREF(end);
        Py_XDECREF(spent);
        Py_XDECREF(weighted);
        Py_DECREF(start);
        if (rc < 0) {
            Py_DECREF(result);
            return NULL;
        }
    }
    one = PyLong_FromLong(1);
    if (one == NULL || add_to(plan, &slot_calls, one) < 0) {  /* read again: threads count too */
        Py_XDECREF(one);
        Py_DECREF(result);
        return NULL;
    }
    Py_DECREF(one);
    if (timed && watched(plan) < 0) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

static PyObject *
fast_call(PyObject *op, PyObject *args, PyObject *kwargs)
{
    CallObject *self = (CallObject *)op;
    PyObject *sig, *head, *key, *plan, *result, *generation, *context;
    unsigned long long changes;
    int hit;

    if ((kwargs != NULL && PyDict_GET_SIZE(kwargs)) || state == NULL) {
        PyObject *method = PyObject_GetAttr(op, s_python_call);
        if (method == NULL) return NULL;
        result = PyObject_Call(method, args, kwargs);
        Py_DECREF(method);
        return result;
    }
    if (self->plans == NULL) {
        PyErr_SetString(PyExc_TypeError, "optlevel: the call's plans were never bound");
        return NULL;
    }
    hit = cache_current(self, args);  /* nargs is -1 while nothing is cached */
    if (hit < 0) return NULL;
    if (hit) {
        key = self->key;
        plan = self->plan;
        Py_INCREF(key);  /* the plan's call may refill the cache */
        Py_INCREF(plan);
        cache_hits++;
        result = run(op, plan, key, args);
        Py_DECREF(plan);
        Py_DECREF(key);
        return result;
    }
    sig = signature_of(args);
    if (sig == NULL) return NULL;
    head = current_head(op, &generation, &context);
    if (head == NULL) {
        Py_DECREF(sig);
        return NULL;
    }
    key = PyTuple_Pack(3, PyTuple_GET_ITEM(head, 2), PyTuple_GET_ITEM(head, 3), sig);
    Py_DECREF(head);
    Py_DECREF(sig);
    if (key == NULL) goto done;
    changes = self->tally->n;  /* before the lookup: a change during _plan_miss shows */
    plan = PyDict_GetItemWithError(self->plans, key);
    Py_XINCREF(plan);  /* the table may drop it while it runs */
    if (plan == NULL) {
        if (PyErr_Occurred()) goto done;
        plan = PyObject_CallMethodObjArgs(op, s_plan_miss, key, args, NULL);
        if (plan == NULL) goto done;
        /* planning installed it (a change counted): cached at today's count where
         * the table holds it under this key now, else at the old count (a miss) */
        if (PyDict_GetItemWithError(self->plans, key) == plan) changes = self->tally->n;
        PyErr_Clear();
    }
    cache_fill(self, args, generation, context, key, plan, changes);
    result = run(op, plan, key, args);
    Py_DECREF(plan);
    Py_DECREF(key);
    Py_DECREF(generation);
    Py_DECREF(context);
    return result;
done:
    Py_XDECREF(key);
    Py_DECREF(generation);
    Py_DECREF(context);
    return NULL;
}

static int
call_traverse(CallObject *self, visitproc visit, void *arg)
{
    Py_ssize_t i;
    for (i = 0; i < IC_ARGS; i++) {
        Py_VISIT(self->arg[i].type);
        Py_VISIT(self->arg[i].descr);
    }
    Py_VISIT(self->generation);
    Py_VISIT(self->context);
    Py_VISIT(self->key);
    Py_VISIT(self->plan);
    Py_VISIT(self->plans);
    Py_VISIT(self->tally);
    return 0;
}

static int
call_clear(CallObject *self)
{
    cache_forget(self);
    Py_CLEAR(self->plans);
    Py_CLEAR(self->tally);
    return 0;
}

static void
call_dealloc(CallObject *self)
{
    PyObject_GC_UnTrack(self);
    call_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject Tally;

static PyObject *
call_bind(CallObject *self, PyObject *args)
{
    PyObject *plans, *tally;
    if (!PyArg_ParseTuple(args, "O!O!:_bind", &PyDict_Type, &plans, &Tally, &tally)) {
        return NULL;
    }
    cache_forget(self);
    Py_INCREF(plans);
    Py_XSETREF(self->plans, plans);
    Py_INCREF(tally);
    Py_XSETREF(self->tally, (TallyObject *)tally);
    Py_RETURN_NONE;
}

static PyMethodDef call_methods[] = {
    {"_bind", (PyCFunction)call_bind, METH_VARARGS,
     "_bind(plans, tally): the plans dict this call reads and the Tally of its changes."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef call_members[] = {
    {"_plans", T_OBJECT_EX, offsetof(CallObject, plans), READONLY,
     "the plans dict this call reads (bound by _bind)"},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *
tally_bump(TallyObject *self, PyObject *unused)
{
    self->n++;
    Py_RETURN_NONE;
}

static PyMethodDef tally_methods[] = {
    {"bump", (PyCFunction)tally_bump, METH_NOARGS, "Count one change."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef tally_members[] = {
    {"n", T_ULONGLONG, offsetof(TallyObject, n), READONLY, "the changes counted"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject Tally = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "optlevel._fastcall.Tally",
    .tp_basicsize = sizeof(TallyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A count of the changes to a plans dict.",
    .tp_new = PyType_GenericNew,
    .tp_methods = tally_methods,
    .tp_members = tally_members,
};

static PyObject *
call_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    CallObject *self = (CallObject *)type->tp_alloc(type, 0);
    if (self != NULL) self->nargs = -1;  /* tp_alloc zeroed the rest */
    return (PyObject *)self;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *arr, *scalars, *classes, *other, *st, *ctx, *clock, *probes, *retyped, *plan;
    long mask;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "OO!O!lOOOOO!O!O!:configure", &arr, &PyFrozenSet_Type,
                          &scalars, &PyTuple_Type, &classes, &mask, &other, &st, &ctx,
                          &clock, &PyTuple_Type, &probes, &PyType_Type, &retyped,
                          &PyType_Type, &plan)) {
        return NULL;
    }
    if (find_slot(&slot_calls, plan, s_calls) < 0 || find_slot(&slot_fn, plan, s_fn) < 0
            || find_slot(&slot_time, plan, s_time) < 0
            || find_slot(&slot_watch, plan, s_watch) < 0
            || find_slot(&slot_generation, (PyObject *)Py_TYPE(st), s_generation) < 0) {
        return NULL;
    }
    if (PyTuple_GET_SIZE(classes) < 65) {
        PyErr_SetString(PyExc_ValueError, "configure: SIZE_CLASS covers fewer than 64 bits");
        return NULL;
    }
    if (!PyContextVar_CheckExact(ctx)) {
        PyErr_SetString(PyExc_TypeError, "configure: the context level is not a ContextVar");
        return NULL;
    }
    Py_INCREF(arr);
    Py_XSETREF(ndarray_type, arr);
    Py_INCREF(scalars);
    Py_XSETREF(scalar_types, scalars);
    Py_INCREF(classes);
    Py_XSETREF(size_class, classes);
    Py_INCREF(other);
    Py_XSETREF(other_key, other);
    Py_INCREF(ctx);
    Py_XSETREF(context_level, ctx);
    Py_INCREF(clock);
    Py_XSETREF(perf_counter, clock);
    Py_INCREF(retyped);
    Py_XSETREF(retyped_type, retyped);
    flag_mask = mask;
    /* the array head is read only where it gives every probe's attribute key */
    read_heads = 0;
    for (i = 0; i < PyTuple_GET_SIZE(probes); i++) {
        PyObject *probe = PyTuple_GET_ITEM(probes, i), *want, *got;
        int same;
        if (Py_TYPE(probe) != (PyTypeObject *)arr) break;
        if (Py_TYPE(probe)->tp_basicsize < (Py_ssize_t)sizeof(ArrayHead)) break;
        want = attribute_item(probe);
        if (want == NULL) return NULL;
        got = head_item(probe);
        if (got == NULL) {
            Py_DECREF(want);
            return NULL;
        }
        same = PyObject_RichCompareBool(want, got, Py_EQ);
        if (same > 0) same = PyTuple_GET_ITEM(want, 0) == PyTuple_GET_ITEM(got, 0);
        Py_DECREF(want);
        Py_DECREF(got);
        if (same < 0) return NULL;
        if (!same) break;
    }
    read_heads = PyTuple_GET_SIZE(probes) > 0 && i == PyTuple_GET_SIZE(probes);
    config_epoch++;  /* every instance's inline cache was filled under the old objects */
    Py_INCREF(st);
    Py_XSETREF(state, st);  /* last: a call before configure() runs in Python */
    Py_RETURN_NONE;
}

static PyObject *
reads_array_heads(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(read_heads);
}

static PyObject *
reads_slots(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(slot_calls.type != NULL && slot_fn.type != NULL
                           && slot_time.type != NULL && slot_watch.type != NULL
                           && slot_generation.type != NULL);
}

static PyObject *
inline_cache_hits(PyObject *module, PyObject *unused)
{
    return PyLong_FromSsize_t(cache_hits);
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(ndarray, SCALAR_TYPES, SIZE_CLASS, FLAG_MASK, other_key, STATE, "
     "CONTEXT_LEVEL, perf_counter, probes, Retyped, Plan): the objects the fast path reads; "
     "the array head is read directly where it agrees with the attributes on every probe "
     "array, and Plan's and STATE's slots at their offsets."},
    {"reads_slots", reads_slots, METH_NOARGS,
     "Are Plan's calls, fn, time, watch and STATE's generation read at their offsets?"},
    {"reads_array_heads", reads_array_heads, METH_NOARGS,
     "Does the key read NumPy's array head directly (else its attributes)?"},
    {"inline_cache_hits", inline_cache_hits, METH_NOARGS,
     "Calls served by an instance's inline cache so far (no key built)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CallBase = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "optlevel._fastcall.CallBase",
    .tp_basicsize = sizeof(CallObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Base of optlevel.Optimized: its call, in C.",
    .tp_call = fast_call,
    .tp_new = call_new,
    .tp_traverse = (traverseproc)call_traverse,
    .tp_clear = (inquiry)call_clear,
    .tp_dealloc = (destructor)call_dealloc,
    .tp_methods = call_methods,
    .tp_members = call_members,
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "optlevel._fastcall",
    "The compiled call fast path of optlevel.Optimized.", -1, module_methods,
};

#define INTERN(var, text) \
    if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL

PyMODINIT_FUNC
PyInit__fastcall(void)
{
    PyObject *m;
    INTERN(s_head, "_head");
    INTERN(s_refresh, "_refresh");
    INTERN(s_plan_miss, "_plan_miss");
    INTERN(s_recover, "_recover");
    INTERN(s_python_call, "_python_call");
    INTERN(s_calls, "calls");
    INTERN(s_fn, "fn");
    INTERN(s_catch, "catch");
    INTERN(s_time, "time");
    INTERN(s_generation, "generation");
    INTERN(s_dtype, "dtype");
    INTERN(s_ndim, "ndim");
    INTERN(s_flags, "flags");
    INTERN(s_num, "num");
    INTERN(s_size, "size");
    INTERN(s_targets, "targets");
    INTERN(s_watch, "watch");
    if (PyType_Ready(&CallBase) < 0 || PyType_Ready(&Tally) < 0) return NULL;
    m = PyModule_Create(&module_def);
    if (m == NULL) return NULL;
    Py_INCREF(&CallBase);
    if (PyModule_AddObject(m, "CallBase", (PyObject *)&CallBase) < 0) {
        Py_DECREF(&CallBase);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&Tally);
    if (PyModule_AddObject(m, "Tally", (PyObject *)&Tally) < 0) {
        Py_DECREF(&Tally);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
