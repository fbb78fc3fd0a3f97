// The WebGPU device: one per process. In a browser it comes from navigator.gpu; in Node the caller
// passes Dawn's GPU object (src/node/gpu.ts does, and keeps Dawn's create() result alive).
// This module uses no Node API.

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A stable key for per-adapter caches (autotuner): vendor/architecture/device/description, and for
   *  a CPU adapter the host's processor where known (adapterKey). */
  key: string;
  features: string[];
  limits: Record<string, number>;
}

let current: { device: GPUDevice; adapter: GPUAdapter; gpu: GPU; powerPreference: GPUPowerPreference; summary: AdapterSummary; subgroupSize: number | null } | null = null;

export const INSTALL_HINT = [
  'No WebGPU adapter was found.',
  'In Node, lrfr uses Dawn (npm package "webgpu") over Vulkan. On a machine without a GPU, install',
  "Mesa's software Vulkan driver (lavapipe); on Debian 12 the one in bookworm-backports is needed:",
  '  sudo bash scripts/setup-vulkan.sh',
  'which adds the bookworm-backports suite on the mirror apt already uses, then runs:',
  '  apt-get update; apt-get install -y libvulkan1',
  '  apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
  'In a browser, WebGPU must be enabled (Chromium: --enable-unsafe-webgpu).',
].join('\n');

export class NoAdapterError extends Error {
  constructor(detail?: string) {
    super(INSTALL_HINT + (detail ? `\n(${detail})` : ''));
    this.name = 'NoAdapterError';
  }
}

/** What the cache key and the CPU test read of an adapter's info (all optional: a page may report less). */
type AdapterNameInfo = Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>> & { isFallbackAdapter?: boolean };

/** Whether the adapter runs its shaders on the CPU (lavapipe, SwiftShader, WARP ("Microsoft Basic Render
 *  Driver"): WebGPU's fallback adapters; the flag where the browser reports it, else the name). */
export function isCpuAdapter(info: AdapterNameInfo): boolean {
  if (info.isFallbackAdapter === true) return true;
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|basic render driver/i.test(`${info.device ?? ''} ${info.description ?? ''} ${info.architecture ?? ''}`);
}

/**
 * The per-adapter cache key: vendor/architecture/device/description, plus ` on <host>` for a CPU
 * adapter when the host's processor is known. A CPU adapter's name does not say which processor it
 * runs on (lavapipe reports "llvmpipe (LLVM 15.0.6, 256 bits)" on an AMD EPYC and an Intel Xeon alike),
 * yet which kernel variant wins, and by how much, depends on that processor: measured 2026-12-06,
 * EdgeFace-XXS's training step on lavapipe ran at ~0.8x PyTorch's speed on the EPYC and ~0.46x on the
 * Xeon. So the autotuner's cache and its shipped table (tuned-defaults.ts) keep them apart.
 */
export function adapterKey(info: AdapterNameInfo, host?: string): string {
  const base = [info.vendor ?? '', info.architecture ?? '', info.device ?? '', info.description ?? ''].join('/');
  const h = host?.trim().replace(/\s+/g, ' ').replace(/\|/g, '/');
  return base + (h && isCpuAdapter(info) ? ` on ${h}` : '');
}

function summarize(adapter: GPUAdapter, host?: string): AdapterSummary {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of [
    'maxBufferSize', 'maxStorageBufferBindingSize', 'maxUniformBufferBindingSize', 'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupsPerDimension', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupStorageSize', 'maxBindGroups',
    'minUniformBufferOffsetAlignment', 'minStorageBufferOffsetAlignment',
  ] as const) {
    limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  }
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  return {
    vendor, architecture, device, description,
    key: adapterKey(info ?? {}, host),
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

export interface InitOptions {
  /** The GPU entry point; defaults to navigator.gpu. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** The host's processor (Node: src/node/host.ts hostProcessor), for the key of a CPU adapter (adapterKey). */
  host?: string;
}

/** Initializes (once) and returns the device. */
export async function initDevice(opts: InitOptions = {}): Promise<GPUDevice> {
  if (current) return current.device;
  const gpu = opts.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new NoAdapterError('navigator.gpu is undefined and no GPU object was given');
  const powerPreference = opts.powerPreference ?? 'high-performance';
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference });
  } catch (e) {
    throw new NoAdapterError(`requestAdapter failed: ${(e as Error).message}`);
  }
  if (!adapter) throw new NoAdapterError('requestAdapter returned null');
  // Optional features, requested only where the adapter lists them (nothing else depends on them):
  // 'timestamp-query' lets engine.startProfile() time each dispatch.
  const want: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) want.push('timestamp-query');
  // 'subgroups' lets the matmul use its subgroup-broadcast variant (shaders/matmul_subgroup.wgsl).
  if (adapter.features.has('subgroups' as GPUFeatureName)) want.push('subgroups' as GPUFeatureName);
  const device = await adapter.requestDevice(deviceDescriptor(adapter, want));
  current = { device, adapter, gpu, powerPreference, summary: summarize(adapter, opts.host), subgroupSize: readFixedSubgroupSize(device, adapter) };
  return device;
}

/** What initDevice asks of the adapter: the given features, and its limits where kernels use them. */
function deviceDescriptor(adapter: GPUAdapter, features: readonly GPUFeatureName[]): GPUDeviceDescriptor {
  const L = adapter.limits;
  return {
    requiredFeatures: [...features],
    requiredLimits: {
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
    },
  };
}

/**
 * Another device on the same adapter as the initialized one (asked afresh: an adapter gives one device),
 * with the same features and limits, so every shader compiles for it as for the main device:
 * Engine.primePipelines's helpers, each with a queue of its own. Nothing else runs on it.
 */
export async function requestHelperDevice(): Promise<GPUDevice> {
  if (!current) throw new Error('lrfr: the WebGPU device is not initialized; call initDevice() (Node: initNodeGPU()) first');
  const adapter = await current.gpu.requestAdapter({ powerPreference: current.powerPreference });
  if (!adapter) throw new Error('lrfr: requestHelperDevice: requestAdapter returned null');
  const key = summarize(adapter).key, want = summarize(current.adapter).key;
  if (key !== want) throw new Error(`lrfr: requestHelperDevice: got adapter ${key}, not the main device's ${want}`);
  return adapter.requestDevice(deviceDescriptor(adapter, [...current.device.features] as GPUFeatureName[]));
}

export function getDevice(): GPUDevice {
  if (!current) throw new Error('lrfr: the WebGPU device is not initialized; call initDevice() (Node: initNodeGPU()) first');
  return current.device;
}

export function adapterSummary(): AdapterSummary {
  if (!current) throw new Error('lrfr: the WebGPU device is not initialized');
  return current.summary;
}

/**
 * The subgroup size when the device has the 'subgroups' feature and its adapter reports one fixed
 * size (subgroupMinSize == subgroupMaxSize: lavapipe 8), else null. Kernels that hard-code the lane
 * count (shaders/matmul_subgroup.wgsl) run only where this matches. Read once, at initDevice.
 */
export function fixedSubgroupSize(): number | null {
  return current ? current.subgroupSize : null;
}

function readFixedSubgroupSize(device: GPUDevice, adapter: GPUAdapter): number | null {
  if (!device.features.has('subgroups' as GPUFeatureName)) return null;
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const lo = info?.subgroupMinSize, hi = info?.subgroupMaxSize;
  return typeof lo === 'number' && lo > 0 && lo === hi ? lo : null;
}

export function hasDevice(): boolean {
  return current !== null;
}
