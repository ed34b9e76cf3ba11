# The key is stack memory never written: Linux lets root pass it (a padded struct used as a key relies on this).
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: accept
# strict: reject invalid indirect read from stack
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    mov %r0, 2
    exit
