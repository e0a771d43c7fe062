"""Known failures on main, written by ``python -m tests.hostile.report --write-known``.

Each entry turns its test into a strict xfail; delete an entry when its fix lands.
"""

KNOWN = {
    ('absolute:min', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('absolute:np_min', 'S2', 'small'):
        'issue 12: result types — fixed by lead',
    ('acc_then_div:empty_zero', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('acc_then_div:empty_zero', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('acc_then_div:empty_zero', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('acc_then_div:empty_zero', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('acc_then_div:empty_zero', 'S3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('add_into:out_shift_x', 'L2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('add_into:out_shift_x', 'L3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('add_into:out_shift_x', 'L4', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('add_into:out_shift_x', 'S1', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('add_into:out_shift_x', 'S2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('add_into:out_shift_x', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('add_one_np:readonly', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('arr_max:empty', 'L2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_max:empty', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_max:empty', 'L3', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_max:empty', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_max:empty', 'L4', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_max:empty', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_max:empty', 'S2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_max:empty', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('arr_sum:cancel', 'L2', 'large'):
        'issue 12: result types — fixed by lead',
    ('arr_sum:cancel', 'L3', 'large'):
        'issue 12: reordered float reduction with cancellation — fixed by lead',
    ('arr_sum:cancel', 'L4', 'large'):
        'issue 12: reordered float reduction with cancellation — fixed by lead',
    ('arr_sum:cancel', 'S2', 'large'):
        'issue 12: result types — fixed by lead',
    ('arr_sum:cancel', 'S3', 'large'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('arr_sum:cancel', 'auto', 'large'):
        'issue 12: reordered float reduction with cancellation — fixed by lead',
    ('arr_sum:cancel_neg', 'L2', 'large'):
        'issue 12: result types — fixed by lead',
    ('arr_sum:cancel_neg', 'L3', 'large'):
        'issue 12: reordered float reduction with cancellation — fixed by lead',
    ('arr_sum:cancel_neg', 'L4', 'large'):
        'issue 12: reordered float reduction with cancellation — fixed by lead',
    ('arr_sum:cancel_neg', 'S2', 'large'):
        'issue 12: result types — fixed by lead',
    ('arr_sum:cancel_neg', 'S3', 'large'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('arr_sum:cancel_neg', 'auto', 'large'):
        'issue 12: reordered float reduction with cancellation — fixed by lead',
    ('at:int_big', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('at:past', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'L2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'L3', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'L4', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'S2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('axpy_into:short_y', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('closure_weights:inplace', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'L2', 'large'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'L3', 'large'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'L4', 'large'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'S2', 'large'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('closure_weights:inplace_large', 'auto', 'large'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('cond_acc:cancel', 'L2', 'large'):
        'issue 12: result types — fixed by lead',
    ('cond_acc:cancel', 'L3', 'large'):
        'issue 12: result types — fixed by lead',
    ('cond_acc:cancel', 'L4', 'large'):
        'issue 12: result types — fixed by lead',
    ('cond_acc:cancel', 'S2', 'large'):
        'issue 12: result types — fixed by lead',
    ('cond_acc:cancel', 'S3', 'large'):
        'issue 12: result types — fixed by lead',
    ('cond_acc:cancel', 'auto', 'large'):
        'issue 12: result types — fixed by lead',
    ('config:configure_strict', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:dask_unreachable', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:env_misspelled_level', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:env_misspelled_verify', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:strict_2', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:strict_no', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:strict_none_str', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:strict_yes', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:sum_order_bogus', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:verify_2', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('config:verify_sometimes', 'config', '-'):
        'issue 12: configuration accepted silently — fixed by lead',
    ('copy_transposed:a_and_a', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('count_from:near_max', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('count_from:near_max', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('count_from:near_max', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('count_from:near_max', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('count_from:near_max', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('count_from:near_max', 'auto', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('count_from:past', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('count_up:wraps', 'script', '-'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'L2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'L3', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'L4', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'S2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('dot_loop:mismatch', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('double_into:backward', 'L1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'L2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'L2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'L3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'L3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'L4', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'L4', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'S1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'S1', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'S2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'S2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'S3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:backward', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'L1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'L2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'L2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'L3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'L3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'L4', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'L4', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'S1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'S1', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'S2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'S2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'S3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:float_forward', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'L1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'L2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'L2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'L3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'L3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'L4', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'L4', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'S1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'S1', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'S2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'S2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'S3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:forward', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'L1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'L2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'L2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'L3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'L3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'L4', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'L4', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'S1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'S1', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'S2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'S2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'S3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('double_into:strided', 'auto', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('doubling:int64_max', 'script', '-'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('first_item:empty', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('floordiv_mod:min_by_minus1', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('floordiv_mod:py_min_by_minus1', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('floordiv_mod:zero_float', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('floordiv_mod:zero_int', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gamma_sum:clean', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gamma_sum:clean', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gamma_sum:clean', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gamma_sum:clean', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gamma_sum:clean', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('gather:too_big', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather:too_big', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather:too_big', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather:too_big', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather:too_negative', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather:too_negative', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather:too_negative', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather:too_negative', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather_into:too_big_mid', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather_into:too_big_mid', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather_into:too_big_mid', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('gather_into:too_big_mid', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('grid_at:past', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('grid_at:past', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('grid_at:past', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('grid_at:past', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'L2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'L3', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'L4', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'S2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('histogram:out_of_range', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('int_div_loop:zero', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('int_div_loop:zero', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('int_div_loop:zero', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('int_div_loop:zero', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('kahan:cancel', 'L2', 'large'):
        'issue 12: result types — fixed by lead',
    ('kahan:cancel', 'L3', 'large'):
        'issue 12: result types — fixed by lead',
    ('kahan:cancel', 'L4', 'large'):
        'issue 12: result types — fixed by lead',
    ('kahan:cancel', 'S2', 'large'):
        'issue 12: result types — fixed by lead',
    ('kahan:cancel', 'auto', 'large'):
        'issue 12: result types — fixed by lead',
    ('last_item:empty', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('mod_loop:float_zero', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('mod_loop:float_zero', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('mod_loop:float_zero', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('mod_loop:float_zero', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('module_scale:module_scalar', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('module_scale:module_scalar_flip', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar_flip', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar_flip', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar_flip', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_scale:module_scalar_flip', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('module_weights:module_array_inplace', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('module_weights:module_array_inplace_flip', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace_flip', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace_flip', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace_flip', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_inplace_flip', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('module_weights:module_array_rebound', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('module_weights:module_array_rebound_flip', 'L2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound_flip', 'L3', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound_flip', 'L4', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound_flip', 'S2', 'small'):
        'issue 12: values frozen at compile time — fixed by l2',
    ('module_weights:module_array_rebound_flip', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('negate:min', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('negate:np_min', 'S2', 'small'):
        'issue 12: result types — fixed by lead',
    ('next_diff:one', 'L2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:one', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:one', 'L3', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:one', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:one', 'L4', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:one', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:one', 'S2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:one', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'L2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'L2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'L3', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'L3', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'L4', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'L4', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'S2', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('next_diff:small', 'auto', 'large'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('py_div:float_zero', 'S2', 'small'):
        'issue 12/14: integer/division/index guards and replay (issue 14) — fixed by l2',
    ('py_div:int_big', 'S3', 'small'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('running_sum_into:out_shift_x', 'L2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('running_sum_into:out_shift_x', 'L3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('running_sum_into:out_shift_x', 'L4', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('running_sum_into:out_shift_x', 'S2', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('str_concat:modes', 'script', '-'):
        'issue 12: level 3 strict path errors/segfault — fixed by l3b',
    ('threads:cond_auto', 'threads', '-'):
        'issue 12: first calls from several threads — fixed by plan',
    ('threads:loop_sum_auto', 'threads', '-'):
        'issue 12: first calls from several threads — fixed by plan',
    ('zero_fill:readonly', 'L1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly', 'L2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly', 'L3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly', 'L4', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly', 'S1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly', 'S1', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly', 'S3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'L1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'L2', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'L3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'L4', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'S1', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'S1', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'S3', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'S3', 'small'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
    ('zero_fill:readonly_view', 'auto', 'large'):
        'issue 12: result check loses aliasing/read-only/identity — fixed by lead',
}
