# A map the program may only read (BPF_F_RDONLY_PROG).
# type: xdp
# map: array key=4 value=8 entries=1 flags=0x80
# expect: reject write into map forbidden
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    jeq %r0, 0, out
    stdw [%r0+0], 1
out:
    mov %r0, 2
    exit
