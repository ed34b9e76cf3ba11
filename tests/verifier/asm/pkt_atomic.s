# Atomic operations on packet memory are refused.
# type: xdp
# expect: reject BPF_ATOMIC stores into R2 pkt is not allowed
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, drop
    mov %r5, 1
    lock add32 [%r2+0], %r5
drop:
    mov %r0, 2
    exit
