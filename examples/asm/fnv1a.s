# FNV-1a 64-bit hash of the input buffer (r1 = data, r2 = length).
    lddw %r0, 0xcbf29ce484222325
    lddw %r4, 0x100000001b3
    mov %r3, 0
loop:
    jge %r3, %r2, done
    mov %r5, %r1
    add %r5, %r3
    ldxb %r5, [%r5]
    xor %r0, %r5
    mul %r0, %r4
    add %r3, 1
    ja loop
done:
    exit
