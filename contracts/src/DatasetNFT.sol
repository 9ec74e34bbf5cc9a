// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Cid} from "./lib/Cid.sol";

/// @title DatasetNFT
/// @notice One ERC-721 token per sealed dataset. The token binds the dataset's manifest (by CID, tokenURI
/// `ipfs://<manifest CID>`) to an owner and carries the terms under which `DatasetLicence` sells licences. Whoever
/// holds the token is the dataset owner: transfers move the terms and all future licence revenue.
/// @dev Storage is packed so that registering costs two new slots besides the ERC-721 ones: the listing slot
/// (prices, licence terms, royalty, flag, CID codec) and the CID digest. An ERC-20 price, when set, takes one more.
/// The SHA-256 commitment to the plaintext is emitted in `DatasetRegistered` but not stored: the manifest holds it
/// and the stored CID already binds the manifest, so a second copy would cost 22,100 gas per dataset and bind
/// nothing new. ERC-2981 `royaltyInfo` names the dataset's current owner and the royalty that `DatasetLicence`
/// applies to resales of this dataset's licences.
contract DatasetNFT is ERC721, IERC2981, IERC4906 {
    /// @notice The terms under which licences of a dataset are sold, as passed in and returned.
    /// @param priceWei Price of one licence in wei; 0 disables purchase with ETH. At most `MAX_PRICE_WEI`.
    /// @param paymentToken ERC-20 accepted as an alternative payment, or the zero address for none.
    /// @param priceToken Price in `paymentToken` base units; must be > 0 exactly when `paymentToken` is set.
    /// @param licenceDuration Seconds a licence is valid from its issue; 0 means it never expires.
    /// @param maxJobs Training jobs one licence allows (enforced by the silo); at least 1.
    /// @param epsilonBudgetMilli Differential-privacy budget ε of one licence, times 1000; at least 1;
    /// type(uint32).max is unbounded (no ε limit).
    /// @param dpLevel What the ε budget protects, so owners and buyers know which ε they trade: `DP_LEVEL_RECORD` (0:
    /// any one row of the dataset; DP-SGD inside the silo) or `DP_LEVEL_OWNER` (1: the dataset as a whole; the
    /// owner's whole update clipped and noised). The owner's silo trains jobs of this level only.
    /// @param minOwners The owner's policy, shown to buyers before they pay: the fewest independent contributing
    /// owners (neither the buyer nor the coordinator) the owner's silo demands in every job; at least 1.
    /// @param royaltyBps ERC-2981 royalty on licence resales, in basis points; at most `MAX_ROYALTY_BPS`.
    /// @param listed Whether licences can be purchased now.
    struct Terms {
        uint256 priceWei;
        address paymentToken;
        uint256 priceToken;
        uint64 licenceDuration;
        uint32 maxJobs;
        uint32 epsilonBudgetMilli;
        uint8 dpLevel;
        uint16 minOwners;
        uint96 royaltyBps;
        bool listed;
    }

    /// @dev One slot: 88 + 32 + 32 + 32 + 8 + 16 + 16 + 8 + 16 + 8 = 256 bits (durations are capped at 2^32 - 1).
    /// `hasTokenPrice` spares a sale in ETH the cold read of the ERC-20 slot when there is none (the terms hash covers
    /// the token fields, so every sale would otherwise read it).
    struct Listing {
        uint88 priceWei;
        uint32 licenceDuration;
        uint32 maxJobs;
        uint32 epsilonBudgetMilli;
        uint8 dpLevel;
        uint16 minOwners;
        uint16 royaltyBps;
        bool listed;
        uint16 cidCodec;
        bool hasTokenPrice;
    }

    /// @dev One slot, written only when an ERC-20 price is set.
    struct TokenPrice {
        address token;
        uint96 price;
    }

    /// @notice The terms under which a dataset trains paid jobs through `JobEscrow`, as passed in and returned. A
    /// job's price is metered: `ratePerRowRound × rows × rounds contributed`, additive in rows, so an owner who splits
    /// a dataset into shells earns exactly what the whole would (docs/ECONOMICS §2.7).
    /// @param currency What the rate is paid in: the zero address for ETH, else an ERC-20.
    /// @param ratePerRowRound Price of one row for one federated round, in `currency` base units; 0: no paid jobs.
    /// @param rows Row count of the sealed dataset, as in its manifest; set once, never changed afterwards.
    /// @param derivativesAllowed Whether a model trained on this dataset may be registered as a licensed derivative.
    /// @param derivativeShareMicros Share of a derivative model's licence sales owed upstream (1e6 = 100%), weighted
    /// by this dataset's rows × rounds among the model's parents; at most `MAX_DERIVATIVE_SHARE_MICROS`.
    /// @param siloSigner The key of the owner's silo that co-signs job receipts; the zero address means the owner.
    struct JobTerms {
        address currency;
        uint96 ratePerRowRound;
        uint64 rows;
        bool derivativesAllowed;
        uint32 derivativeShareMicros;
        address siloSigner;
    }

    /// @dev Two slots, written only by `setJobTerms`: (currency 160 | rate 96) and (signer 160 | rows 64 | share 24 |
    /// derivatives 8).
    struct StoredJobTerms {
        address currency;
        uint96 ratePerRowRound;
        address siloSigner;
        uint64 rows;
        uint24 derivativeShareMicros;
        bool derivativesAllowed;
    }

    struct Dataset {
        Listing listing;
        bytes32 cidDigest;
        TokenPrice tokenPrice;
        StoredJobTerms jobTerms;
    }

    /// @notice Highest ETH price a listing can carry (2^88 - 1 wei, about 3.1e8 ETH).
    uint256 public constant MAX_PRICE_WEI = type(uint88).max;
    /// @notice Highest ERC-20 price a listing can carry (2^96 - 1 base units).
    uint256 public constant MAX_PRICE_TOKEN = type(uint96).max;
    /// @notice Longest licence duration (2^32 - 1 seconds, about 136 years).
    uint64 public constant MAX_LICENCE_DURATION = type(uint32).max;
    /// @notice `Terms.dpLevel`: the ε budget bounds what a released model reveals about any one row (record-level DP).
    uint8 public constant DP_LEVEL_RECORD = 0;
    /// @notice `Terms.dpLevel`: the ε budget bounds what a released model reveals about the whole dataset (owner-level
    /// DP).
    uint8 public constant DP_LEVEL_OWNER = 1;
    /// @notice Largest royalty: the whole resale price.
    uint96 public constant MAX_ROYALTY_BPS = 10_000;
    /// @notice Largest share of a derivative model's licence sales one dataset can claim: 50%.
    uint32 public constant MAX_DERIVATIVE_SHARE_MICROS = 500_000;

    /// @dev `initialized` is set by the constructor so that the slot is never zero and the first registration pays
    /// a warm write, not a new slot.
    struct Counter {
        uint64 lastDatasetId;
        bool initialized;
    }

    Counter private _counter;
    mapping(uint256 datasetId => Dataset) private _datasets;

    /// @notice A dataset was registered and its token minted to `owner`; `commitment` is the SHA-256 of its
    /// canonical plaintext (also in the manifest).
    event DatasetRegistered(uint256 indexed datasetId, address indexed owner, bytes manifestCid, bytes32 commitment);
    /// @notice The terms of a dataset were set (at registration and on every change).
    event TermsUpdated(uint256 indexed datasetId, Terms terms);
    /// @notice A dataset was listed or delisted.
    event ListingChanged(uint256 indexed datasetId, bool listed);
    /// @notice The job terms of a dataset were set (`siloSigner` as given: zero means the owner).
    event JobTermsUpdated(uint256 indexed datasetId, JobTerms terms);
    /// @notice The owner pointed a dataset at a new manifest (`sealfold dataset reseal`: the same plaintext, sealed
    /// again under a fresh file key). ERC-4906 `MetadataUpdate` is emitted with it, so indexers refresh tokenURI.
    event ManifestUpdated(uint256 indexed datasetId, bytes manifestCid);

    /// @notice `caller` is not the owner of dataset `datasetId`.
    error NotDatasetOwner(uint256 datasetId, address caller);
    /// @notice The new manifest CID is the current one.
    error ManifestUnchanged(uint256 datasetId);
    /// @notice The commitment is zero, which no SHA-256 output is in practice: the caller forgot it.
    error ZeroCommitment();
    /// @notice `priceWei` exceeds `MAX_PRICE_WEI`.
    error PriceTooHigh(uint256 priceWei, uint256 max);
    /// @notice `priceToken` exceeds `MAX_PRICE_TOKEN`.
    error TokenPriceTooHigh(uint256 priceToken, uint256 max);
    /// @notice `paymentToken` is set without a price, or a price is given without a token.
    error TokenPriceMismatch(address paymentToken, uint256 priceToken);
    /// @notice `paymentToken` has no code, so it cannot be an ERC-20 contract.
    error InvalidPaymentToken(address paymentToken);
    /// @notice `licenceDuration` exceeds `MAX_LICENCE_DURATION`.
    error LicenceDurationTooLong(uint64 licenceDuration, uint64 max);
    /// @notice `maxJobs` is zero.
    error ZeroMaxJobs();
    /// @notice `epsilonBudgetMilli` is zero.
    error ZeroEpsilonBudget();
    /// @notice `dpLevel` is neither `DP_LEVEL_RECORD` nor `DP_LEVEL_OWNER`.
    error UnknownDpLevel(uint8 dpLevel);
    /// @notice `minOwners` is zero.
    error ZeroMinOwners();
    /// @notice `royaltyBps` exceeds `MAX_ROYALTY_BPS`.
    error RoyaltyTooHigh(uint256 royaltyBps, uint256 max);
    /// @notice A listed dataset needs a price in ETH or in a token (free access goes through grants).
    error ListedWithoutPrice();
    /// @notice The dataset already has this listing state.
    error ListingUnchanged(uint256 datasetId, bool listed);
    /// @notice The row count was set before to `rows` and cannot change (it is the manifest's).
    error RowsAlreadySet(uint256 datasetId, uint64 rows);
    /// @notice A job rate needs the dataset's row count (rows > 0).
    error ZeroRows();
    /// @notice `derivativeShareMicros` exceeds `MAX_DERIVATIVE_SHARE_MICROS`, or is set while derivatives are refused.
    error InvalidDerivativeShare(uint32 derivativeShareMicros);
    /// @notice `currency` has no code, so it cannot be an ERC-20 contract.
    error InvalidCurrency(address currency);

    constructor() ERC721("Sealfold Dataset", "SFDS") {
        _counter.initialized = true;
    }

    /// @notice Registers a sealed dataset and mints its token to the caller.
    /// @param manifestCid The manifest's binary CIDv1 (sha2-256 multihash), e.g. `CID.parse(s).bytes`.
    /// @param commitment SHA-256 of the dataset's canonical plaintext, as written in the manifest.
    /// @param terms The initial licence terms.
    /// @return datasetId The new token id (sequential, starting at 1).
    function register(bytes calldata manifestCid, bytes32 commitment, Terms calldata terms)
        external
        returns (uint256 datasetId)
    {
        (uint16 codec, bytes32 digest) = Cid.parse(manifestCid);
        if (commitment == 0) revert ZeroCommitment();
        datasetId = ++_counter.lastDatasetId;
        Dataset storage d = _datasets[datasetId];
        _writeTerms(d, terms, codec, true);
        d.cidDigest = digest;
        _mint(msg.sender, datasetId);
        emit DatasetRegistered(datasetId, msg.sender, manifestCid, commitment);
        emit TermsUpdated(datasetId, terms);
    }

    /// @notice Replaces the terms of a dataset; licences already issued keep theirs. Only the dataset owner.
    function setTerms(uint256 datasetId, Terms calldata terms) external {
        _checkDatasetOwner(datasetId);
        Dataset storage d = _datasets[datasetId];
        _writeTerms(d, terms, d.listing.cidCodec, false);
        emit TermsUpdated(datasetId, terms);
    }

    /// @notice Points a dataset at a new manifest; licences, terms and the token id are untouched. Only the dataset
    /// owner. The plaintext commitment (emitted at registration) must stay the manifest's: the silo checks the data it
    /// decrypts against it, so a manifest for other data cannot pass as this dataset.
    /// @param manifestCid The new manifest's binary CIDv1 (sha2-256 multihash).
    function setManifest(uint256 datasetId, bytes calldata manifestCid) external {
        _checkDatasetOwner(datasetId);
        (uint16 codec, bytes32 digest) = Cid.parse(manifestCid);
        Dataset storage d = _datasets[datasetId];
        if (d.cidDigest == digest && d.listing.cidCodec == codec) revert ManifestUnchanged(datasetId);
        d.listing.cidCodec = codec;
        d.cidDigest = digest;
        emit ManifestUpdated(datasetId, manifestCid);
        emit MetadataUpdate(datasetId);
    }

    /// @notice Opens a dataset for licence purchases. Only the dataset owner; reverts if already listed.
    function list(uint256 datasetId) external {
        _setListed(datasetId, true);
    }

    /// @notice Stops licence purchases of a dataset; issued licences stay valid. Only the dataset owner.
    function delist(uint256 datasetId) external {
        _setListed(datasetId, false);
    }

    /// @notice Sets the job terms of a dataset (rate, currency, derivative policy, silo signer). Only the dataset
    /// owner. `rows` is written the first time and must be repeated unchanged afterwards. Jobs opened before keep the
    /// terms they pinned.
    function setJobTerms(uint256 datasetId, JobTerms calldata terms) external {
        _checkDatasetOwner(datasetId);
        StoredJobTerms storage j = _datasets[datasetId].jobTerms;
        uint64 rows = j.rows;
        if (rows != 0 && terms.rows != rows) revert RowsAlreadySet(datasetId, rows);
        if (terms.rows == 0) revert ZeroRows();
        if (
            terms.derivativeShareMicros > MAX_DERIVATIVE_SHARE_MICROS
                || (!terms.derivativesAllowed && terms.derivativeShareMicros != 0)
        ) revert InvalidDerivativeShare(terms.derivativeShareMicros);
        if (terms.currency != address(0) && terms.currency.code.length == 0) revert InvalidCurrency(terms.currency);
        _datasets[datasetId].jobTerms = StoredJobTerms({
            currency: terms.currency,
            ratePerRowRound: terms.ratePerRowRound,
            siloSigner: terms.siloSigner,
            rows: terms.rows,
            derivativeShareMicros: uint24(terms.derivativeShareMicros),
            derivativesAllowed: terms.derivativesAllowed
        });
        emit JobTermsUpdated(datasetId, terms);
    }

    /// @notice The job terms of a dataset and its current owner, as `JobEscrow.open` pins them: the silo signer is
    /// resolved (the owner when none was set). Unset terms read as all zero (rate 0: no paid jobs).
    function jobTermsOf(uint256 datasetId) external view returns (JobTerms memory terms, address owner) {
        owner = _requireOwned(datasetId);
        StoredJobTerms memory j = _datasets[datasetId].jobTerms;
        terms = JobTerms({
            currency: j.currency,
            ratePerRowRound: j.ratePerRowRound,
            rows: j.rows,
            derivativesAllowed: j.derivativesAllowed,
            derivativeShareMicros: j.derivativeShareMicros,
            siloSigner: j.siloSigner == address(0) ? owner : j.siloSigner
        });
    }

    /// @notice The current terms of a dataset. Reverts with `ERC721NonexistentToken` for an unknown id.
    function termsOf(uint256 datasetId) external view returns (Terms memory terms) {
        _requireOwned(datasetId);
        return _termsOf(datasetId);
    }

    /// @notice The hash a buyer pins when it buys: `keccak256(abi.encode(termsOf(datasetId)))`, so it covers every
    /// field of the listing (prices, token, duration, jobs, ε and its DP level, minimum owners, royalty, listed). A purchase whose
    /// pinned hash differs reverts, so terms changed after the buyer read them can never be sold to it.
    function termsHashOf(uint256 datasetId) external view returns (bytes32) {
        _requireOwned(datasetId);
        return keccak256(abi.encode(_termsOf(datasetId)));
    }

    /// @notice What `DatasetLicence` needs for a sale paid in ETH, read from one slot plus the owner.
    /// @return owner The current owner, who is credited with the sale.
    /// @return priceWei The ETH price (0: not for sale in ETH).
    /// @return licenceDuration Seconds of validity (0: perpetual).
    /// @return maxJobs Jobs per licence.
    /// @return epsilonBudgetMilli ε budget per licence, times 1000 (type(uint32).max: unbounded).
    /// @return listed Whether the dataset is for sale.
    /// @return termsHash `termsHashOf(datasetId)`, for the buyer's pin.
    function ethSaleTerms(uint256 datasetId)
        external
        view
        returns (
            address owner,
            uint256 priceWei,
            uint64 licenceDuration,
            uint32 maxJobs,
            uint32 epsilonBudgetMilli,
            bool listed,
            bytes32 termsHash
        )
    {
        owner = _requireOwned(datasetId);
        Terms memory t = _termsOf(datasetId);
        return (
            owner,
            t.priceWei,
            t.licenceDuration,
            t.maxJobs,
            t.epsilonBudgetMilli,
            t.listed,
            keccak256(abi.encode(t))
        );
    }

    /// @notice The manifest's binary CIDv1.
    function manifestCidOf(uint256 datasetId) external view returns (bytes memory) {
        _requireOwned(datasetId);
        Dataset storage d = _datasets[datasetId];
        return Cid.toBytes(d.listing.cidCodec, d.cidDigest);
    }

    /// @notice Whether a dataset token exists.
    function exists(uint256 datasetId) external view returns (bool) {
        return _ownerOf(datasetId) != address(0);
    }

    /// @notice The id of the most recently registered dataset (0 before the first).
    function lastDatasetId() external view returns (uint256) {
        return _counter.lastDatasetId;
    }

    /// @notice `ipfs://<manifest CID>` with the CID in its canonical base32 form (`bafy…`/`bafk…`).
    function tokenURI(uint256 datasetId) public view override returns (string memory) {
        _requireOwned(datasetId);
        Dataset storage d = _datasets[datasetId];
        return string.concat("ipfs://", Cid.toBase32String(d.listing.cidCodec, d.cidDigest));
    }

    /// @notice ERC-2981: the dataset's current owner receives `royaltyBps` of a licence resale price.
    function royaltyInfo(uint256 datasetId, uint256 salePrice)
        external
        view
        returns (address receiver, uint256 royaltyAmount)
    {
        receiver = _requireOwned(datasetId);
        royaltyAmount = (salePrice * _datasets[datasetId].listing.royaltyBps) / 10_000;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, IERC165) returns (bool) {
        // ERC-4906 §Specification: the interface id is 0x49064906.
        return interfaceId == type(IERC2981).interfaceId || interfaceId == bytes4(0x49064906)
            || super.supportsInterface(interfaceId);
    }

    function _termsOf(uint256 datasetId) private view returns (Terms memory) {
        Dataset storage d = _datasets[datasetId];
        Listing memory l = d.listing;
        TokenPrice memory t;
        if (l.hasTokenPrice) t = d.tokenPrice;
        return Terms({
            priceWei: l.priceWei,
            paymentToken: t.token,
            priceToken: t.price,
            licenceDuration: l.licenceDuration,
            maxJobs: l.maxJobs,
            epsilonBudgetMilli: l.epsilonBudgetMilli,
            dpLevel: l.dpLevel,
            minOwners: l.minOwners,
            royaltyBps: l.royaltyBps,
            listed: l.listed
        });
    }

    function _checkDatasetOwner(uint256 datasetId) private view {
        if (_requireOwned(datasetId) != msg.sender) revert NotDatasetOwner(datasetId, msg.sender);
    }

    function _setListed(uint256 datasetId, bool listed) private {
        _checkDatasetOwner(datasetId);
        Dataset storage d = _datasets[datasetId];
        if (d.listing.listed == listed) revert ListingUnchanged(datasetId, listed);
        if (listed && d.listing.priceWei == 0 && !d.listing.hasTokenPrice) revert ListedWithoutPrice();
        d.listing.listed = listed;
        emit ListingChanged(datasetId, listed);
    }

    /// @dev Validates `terms` and writes them in packed form; the ERC-20 slot is touched only when it changes
    /// (`fresh`: the dataset is new, so that slot is known to be empty).
    function _writeTerms(Dataset storage d, Terms calldata terms, uint16 codec, bool fresh) private {
        if (terms.priceWei > MAX_PRICE_WEI) revert PriceTooHigh(terms.priceWei, MAX_PRICE_WEI);
        if ((terms.paymentToken == address(0)) != (terms.priceToken == 0)) {
            revert TokenPriceMismatch(terms.paymentToken, terms.priceToken);
        }
        if (terms.priceToken > MAX_PRICE_TOKEN) revert TokenPriceTooHigh(terms.priceToken, MAX_PRICE_TOKEN);
        if (terms.paymentToken != address(0) && terms.paymentToken.code.length == 0) {
            revert InvalidPaymentToken(terms.paymentToken);
        }
        if (terms.licenceDuration > MAX_LICENCE_DURATION) {
            revert LicenceDurationTooLong(terms.licenceDuration, MAX_LICENCE_DURATION);
        }
        if (terms.maxJobs == 0) revert ZeroMaxJobs();
        if (terms.epsilonBudgetMilli == 0) revert ZeroEpsilonBudget();
        if (terms.dpLevel > DP_LEVEL_OWNER) revert UnknownDpLevel(terms.dpLevel);
        if (terms.minOwners == 0) revert ZeroMinOwners();
        if (terms.royaltyBps > MAX_ROYALTY_BPS) revert RoyaltyTooHigh(terms.royaltyBps, MAX_ROYALTY_BPS);
        if (terms.listed && terms.priceWei == 0 && terms.paymentToken == address(0)) revert ListedWithoutPrice();

        d.listing = Listing({
            priceWei: uint88(terms.priceWei),
            licenceDuration: uint32(terms.licenceDuration),
            maxJobs: terms.maxJobs,
            epsilonBudgetMilli: terms.epsilonBudgetMilli,
            dpLevel: terms.dpLevel,
            minOwners: terms.minOwners,
            royaltyBps: uint16(terms.royaltyBps),
            listed: terms.listed,
            cidCodec: codec,
            hasTokenPrice: terms.paymentToken != address(0)
        });
        TokenPrice memory t = TokenPrice({token: terms.paymentToken, price: uint96(terms.priceToken)});
        if (fresh ? t.token != address(0) : (d.tokenPrice.token != t.token || d.tokenPrice.price != t.price)) {
            d.tokenPrice = t;
        }
    }
}
