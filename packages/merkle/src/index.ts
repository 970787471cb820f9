export {
  IncompatiblePeerError,
  InconsistentPeerError,
  MalformedMessageError,
  MerkleError,
  MerkleInputError,
  OversizedMessageError,
  ReconcileError,
  ReconcileStateError,
  SessionLimitError,
  SnapshotStateError,
  TreeCorruptError,
} from './errors.js'
export { HASH_BYTES } from './hash.js'
export type { ChildEntry, Children } from './node-codec.js'
export {
  createReconciler,
  createResponder,
  type ReconcileOptions,
  type ReconcileResult,
  type Reconciler,
  type ReconcileStats,
  type ReconcileVersion,
  type Responder,
} from './reconcile.js'
export {
  EMPTY_ROOT,
  type Leaf,
  type LeafRange,
  MAX_KEY_BYTES,
  type MerkleTree,
  type MerkleTreeOptions,
  openMerkleTree,
  type TreeChange,
  type TreeLeaf,
  type TreeNode,
  type TreePosition,
  type TreeReader,
  type TreeSnapshot,
  type VerifyReport,
} from './tree.js'
