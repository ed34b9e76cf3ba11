# bpf_xdp_adjust_head invalidates earlier packet pointers.
# type: xdp
# expect: reject R7 invalid mem access 'scalar'
    mov %r6, %r1
    ldxw %r7, [%r6+0]
    ldxw %r3, [%r6+4]
    mov %r4, %r7
    add %r4, 1
    jgt %r4, %r3, out
    mov %r1, %r6
    mov %r2, 0
    call 44
    ldxb %r0, [%r7+0]
out:
    mov %r0, 2
    exit
