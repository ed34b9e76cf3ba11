# An 8-byte atomic add at offset 4 of a map value: atomics must be aligned.
# type: xdp
# map: array key=4 value=16 entries=1
# expect: reject misaligned
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    jeq %r0, 0, out
    mov %r1, 1
    lock add [%r0+4], %r1
out:
    mov %r0, 2
    exit
