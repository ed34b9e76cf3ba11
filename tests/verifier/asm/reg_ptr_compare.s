# Comparing two pointers: root may, the unprivileged may not.
# type: socket
# expect: accept
# strict: reject pointer comparison prohibited
    mov %r2, %r10
    add %r2, -8
    mov %r0, 0
    jgt %r2, %r1, out
    mov %r0, 1
out:
    exit
