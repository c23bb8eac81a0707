// The QEMU hardware-in-the-loop harness: point it at any raw disk image (and firmware) to boot, watch and break an appliance.
export { QemuMachine, type DiskStats, type QemuMachineOptions } from './qemu-machine';
export { SerialConsole } from './serial-console';
export { QmpClient } from './qmp-client';
export { freeLocalPort } from './unix-socket';
export { qemuAvailable } from './qemu-available';
