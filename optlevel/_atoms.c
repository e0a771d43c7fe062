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

static PyMethodDef methods[] = {
    {"atoms_only", atoms_only, METH_O,
     "Does this list or tuple hold only numbers, strings, bytes and None (exact types)?"},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "optlevel._atoms", "What a worker's piece stores, looked "
    "through in C (optional: optlevel.levels.parallel.iterworker).", -1, methods
};

PyMODINIT_FUNC
PyInit__atoms(void)
{
    return PyModule_Create(&module);
}
