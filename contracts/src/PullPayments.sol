// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/// @title PullPayments
/// @notice Credits per (currency, account) that their owners withdraw, and protocol fees paid to a fixed treasury.
/// Nothing is ever pushed to a payee inside business logic, so a payee that cannot receive blocks nobody
/// (OpenZeppelin 5 removed its `PullPayment`; this is the hand-written replacement `DatasetLicence` also uses).
/// @dev A credit is stored as amount + 1 once an account was first credited, so that a withdrawal leaves the slot
/// non-zero and the next credit is a warm write (2,900 gas) rather than a new slot (22,100). The zero address as
/// `token` means ETH.
abstract contract PullPayments is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Highest protocol fee: 10%.
    uint16 public constant MAX_FEE_BPS = 1_000;

    /// @notice Receives protocol fees (`withdrawFees`).
    address public immutable treasury;
    /// @notice The protocol fee in basis points, fixed at deployment.
    uint16 public immutable feeBps;

    mapping(address token => mapping(address account => uint256)) private _credits;
    mapping(address token => uint256) private _fees;

    /// @notice `account` withdrew `amount` of `token` (zero address: ETH) owed to it.
    event Withdrawn(address indexed account, address indexed token, uint256 amount);
    /// @notice Accrued fees of `token` were paid to the treasury.
    event FeesWithdrawn(address indexed treasury, address indexed token, uint256 amount);

    /// @notice Nothing is owed to the caller (or no fees accrued) in this currency.
    error NothingToWithdraw();
    /// @notice The fee exceeds `MAX_FEE_BPS`.
    error FeeTooHigh(uint256 feeBps, uint256 max);
    /// @notice The zero address was given where an account or contract is required.
    error ZeroAddress();
    /// @notice ETH sent outside a payable entry point.
    error UnexpectedEth();

    constructor(address treasury_, uint16 feeBps_) {
        if (treasury_ == address(0)) revert ZeroAddress();
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        treasury = treasury_;
        feeBps = feeBps_;
        _fees[address(0)] = 1;
    }

    /// @notice Pays the caller all of `token` (zero address: ETH) owed to it.
    function withdraw(address token) external nonReentrant {
        uint256 credit = _credits[token][msg.sender];
        if (credit <= 1) revert NothingToWithdraw();
        _credits[token][msg.sender] = 1;
        uint256 amount = credit - 1;
        emit Withdrawn(msg.sender, token, amount);
        _send(token, msg.sender, amount);
    }

    /// @notice Pays the accrued fees in `token` to the treasury. Anyone may call; the funds only go to the treasury.
    function withdrawFees(address token) external nonReentrant {
        uint256 fees = _fees[token];
        if (fees <= 1) revert NothingToWithdraw();
        _fees[token] = 1;
        emit FeesWithdrawn(treasury, token, fees - 1);
        _send(token, treasury, fees - 1);
    }

    /// @notice What `account` may withdraw in `token` now.
    function owed(address token, address account) external view returns (uint256) {
        uint256 credit = _credits[token][account];
        return credit == 0 ? 0 : credit - 1;
    }

    /// @notice Fees in `token` accrued and not yet paid to the treasury.
    function accruedFees(address token) external view returns (uint256) {
        uint256 fees = _fees[token];
        return fees == 0 ? 0 : fees - 1;
    }

    /// @dev Refuses plain ETH: value enters only through the payable entry points, so the balance is accounted.
    receive() external payable {
        revert UnexpectedEth();
    }

    function _credit(address token, address account, uint256 amount) internal {
        uint256 credit = _credits[token][account];
        _credits[token][account] = (credit == 0 ? 1 : credit) + amount;
    }

    function _accrueFee(address token, uint256 amount) internal {
        uint256 fees = _fees[token];
        _fees[token] = (fees == 0 ? 1 : fees) + amount;
    }

    /// @dev `amount × feeBps / 10⁴`, rounded down: the payee keeps the dust.
    function _feeOf(uint256 amount) internal view returns (uint256) {
        return (amount * feeBps) / 10_000;
    }

    function _send(address token, address to, uint256 amount) private {
        if (token == address(0)) Address.sendValue(payable(to), amount);
        else IERC20(token).safeTransfer(to, amount);
    }
}
