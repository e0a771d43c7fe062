/* One question asked of many objects, in C: does a list or a tuple hold only numbers,
 * strings, bytes and None? Level 3's check of what a worker's piece stores
 * (optlevel/levels/parallel/iterworker.py) asks it of every row it looks through: in
 * Python, map(type, ...) took 15 ns an item, a piece of 180,000 floats 2.7 ms.
 *
 * Optional, as the call fast path is: where it was not built, iterworker asks the
 * same question in Python. Exact types only: a subclass of float or str may carry an
 * identity the check must see, so it answers False and the caller looks inside. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
atoms_only(PyObject *module, PyObject *seq)
{
    PyObject **items;
    Py_ssize_t n, i;

    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) Py_RETURN_FALSE;
    /* the GIL is held and nothing below calls Python code: the items cannot change */
    items = PySequence_Fast_ITEMS(seq);
    n = PySequence_Fast_GET_SIZE(seq);
    for (i = 0; i < n; i++) {
        PyObject *item = items[i];
        PyTypeObject *type = Py_TYPE(item);
        if (type != &PyFloat_Type && type != &PyLong_Type && type != &PyUnicode_Type
                && item != Py_None && type != &PyBool_Type && type != &PyComplex_Type
                && type != &PyBytes_Type) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

/* Rows of floats through level 3's local process pool as their doubles' bytes
 * (optlevel/levels/parallel/floatrows.py): 8 bytes a float, one copy each way, rather
 * than pickle's opcode and object a float. Exact types only (a subclass may pickle
 * itself otherwise); every double's bits kept (-0.0, NaN payloads). The bytes are the
 * machine's own order: both ends run on this machine. */
#define FLOAT_ROWS_MIN 8

static PyObject *
floats_from(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    PyObject *list = NULL;
    Py_ssize_t n, i;
    const char *at;

    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len % sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "floats_from: not a whole number of doubles");
        goto done;
    }
    n = view.len / (Py_ssize_t)sizeof(double);
    list = PyList_New(n);
    if (list == NULL) goto done;
    at = (const char *)view.buf;
    for (i = 0; i < n; i++) {
        double value;
        PyObject *item;
        memcpy(&value, at + i * sizeof(double), sizeof(double));
        item = PyFloat_FromDouble(value);
        if (item == NULL) {
            Py_CLEAR(list);
            goto done;
        }
        PyList_SET_ITEM(list, i, item);
    }
done:
    PyBuffer_Release(&view);
    return list;
}

static PyObject *
pack_floats(PyObject *module, PyObject *obj)
{
    PyObject **items, *packed;
    Py_ssize_t n, i;
    char *at;

    if (!PyList_CheckExact(obj)) Py_RETURN_NONE;
    n = PyList_GET_SIZE(obj);
    if (n < FLOAT_ROWS_MIN) Py_RETURN_NONE;
    items = PySequence_Fast_ITEMS(obj);
    for (i = 0; i < n; i++) {
        if (Py_TYPE(items[i]) != &PyFloat_Type) Py_RETURN_NONE;
    }
    packed = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(double));
    if (packed == NULL) return NULL;
    at = PyBytes_AS_STRING(packed);
    for (i = 0; i < n; i++) {  /* nothing ran since the check: the same items */
        double value = PyFloat_AS_DOUBLE(items[i]);
        memcpy(at + i * sizeof(double), &value, sizeof(double));
    }
    return packed;
}

/* The caller's own row of floats given the doubles a worker wrote into its copy
 * (optlevel/levels/parallel/itercut.py merges rows written in place this way): each
 * cell takes its double, in place where the row alone holds the float (no one else
 * can see it: floats have no weak references), in a new float where the float is
 * shared. Nothing is written unless the row is an exact list of exact floats of the
 * same length (False: the caller copies the cells its own way), and the new floats
 * are made before the first cell changes: a failed allocation leaves the row whole. */
static PyObject *
floats_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    PyObject **items, **fresh = NULL, *answer = NULL;
    Py_ssize_t n, i, shared = 0, used = 0;
    const char *at;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "floats_into(row, data): two arguments");
        return NULL;
    }
#ifdef Py_GIL_DISABLED
    Py_RETURN_FALSE;  /* another thread could read a cell while it changes */
#endif
    if (!PyList_CheckExact(args[0])) Py_RETURN_FALSE;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0) return NULL;
    n = PyList_GET_SIZE(args[0]);
    items = PySequence_Fast_ITEMS(args[0]);
    if (view.len != n * (Py_ssize_t)sizeof(double)) {
        answer = Py_False;
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (Py_TYPE(items[i]) != &PyFloat_Type) {
            answer = Py_False;
            goto done;
        }
        shared += Py_REFCNT(items[i]) != 1;
    }
    if (shared) {
        fresh = PyMem_New(PyObject *, shared);
        if (fresh == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (used = 0; used < shared; used++) {
            fresh[used] = PyFloat_FromDouble(0.0);
            if (fresh[used] == NULL) goto done;
        }
    }
    /* nothing below runs Python code (a float's deallocation runs none): the row
     * stays as checked */
    at = (const char *)view.buf;
    used = 0;
    for (i = 0; i < n; i++) {
        double value;
        PyObject *old = items[i];
        memcpy(&value, at + i * sizeof(double), sizeof(double));
        if (Py_REFCNT(old) == 1) {
            ((PyFloatObject *)old)->ob_fval = value;
            continue;
        }
        ((PyFloatObject *)fresh[used])->ob_fval = value;
        items[i] = fresh[used];
        fresh[used++] = NULL;
        Py_DECREF(old);  /* a float shared twice in this row is alone at its second */
    }
    answer = Py_True;
done:
    if (fresh != NULL) {
        for (i = 0; i < shared; i++) Py_XDECREF(fresh[i]);
        PyMem_Free(fresh);
    }
    PyBuffer_Release(&view);
    return Py_XNewRef(answer);
}

/* Do two lists hold the very same objects, in the same order? A row copied with
 * row[:] (a stencil's double buffer) holds its source's floats: floatrows.py sends it
 * as a copy of the source's packed row, and the worker rebuilds it as list(source),
 * the same floats shared as in the caller, for a copy of pointers rather than a new
 * float a cell. */
static PyObject *
same_items(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t n;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "same_items(a, b): two arguments");
        return NULL;
    }
    if (!PyList_CheckExact(args[0]) || !PyList_CheckExact(args[1])) Py_RETURN_FALSE;
    n = PyList_GET_SIZE(args[0]);
    if (n != PyList_GET_SIZE(args[1])) Py_RETURN_FALSE;
    /* pointers only: nothing here runs Python code */
    if (memcmp(PySequence_Fast_ITEMS(args[0]), PySequence_Fast_ITEMS(args[1]),
               (size_t)n * sizeof(PyObject *)) != 0) Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"pack_floats", pack_floats, METH_O,
     "A list of 8 or more floats (exact types) as its doubles' bytes (machine order); "
     "None for anything else."},
    {"floats_from", floats_from, METH_O,
     "The list of floats whose doubles these bytes hold (machine order)."},
    {"floats_into", (PyCFunction)(void (*)(void))floats_into, METH_FASTCALL,
     "Write these bytes' doubles into a row of as many floats, in place; False (and "
     "nothing written) unless the row is an exact list of exact floats that long."},
    {"same_items", (PyCFunction)(void (*)(void))same_items, METH_FASTCALL,
     "Do these two exact lists hold the very same objects, in the same order?"},
    {"atoms_only", atoms_only, METH_O,
     "Does this list or tuple hold only numbers, strings, bytes and None (exact types)?"},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "optlevel._atoms", "What a worker's piece stores, looked "
    "through in C, and lists of floats packed for the process pool (optional: "
    "optlevel.levels.parallel.iterworker and .floatrows).", -1, methods
};

PyMODINIT_FUNC
PyInit__atoms(void)
{
    return PyModule_Create(&module);
}
